package auth

import (
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

// Resource is what a privilege applies to, in MongoDB's resource
// patterns: the cluster, any resource, a database ({db, collection: ""}),
// a namespace ({db, collection}), a collection name in every normal
// database ({db: "", collection}), every normal namespace ({db: "",
// collection: ""}), or time-series buckets ({db: "", system_buckets: ""}).
type Resource struct {
	Cluster       bool
	AnyResource   bool
	SystemBuckets bool
	DB            string
	Collection    string
}

// Privilege is a resource with the actions allowed on it.
type Privilege struct {
	Resource Resource
	Actions  []string
}

// Document renders the privilege as connectionStatus shows it.
func (p Privilege) Document() bsoncore.Document {
	var res bsoncore.Document
	switch r := p.Resource; {
	case r.Cluster:
		res = bsonkit.D("cluster", bsonkit.Bool(true))
	case r.AnyResource:
		res = bsonkit.D("anyResource", bsonkit.Bool(true))
	case r.SystemBuckets:
		res = bsonkit.D("db", bsonkit.String(r.DB), "system_buckets", bsonkit.String(""))
	default:
		res = bsonkit.D("db", bsonkit.String(r.DB), "collection", bsonkit.String(r.Collection))
	}
	acts := make([]bsoncore.Value, len(p.Actions))
	for i, a := range p.Actions {
		acts[i] = bsonkit.String(a)
	}
	return bsonkit.D("resource", bsonkit.DocValue(res), "actions", bsonkit.Array(acts...))
}

// matches reports whether the resource covers an action on db.coll (coll
// "" for database-level actions such as dbStats or listCollections).
func (r Resource) matches(db, coll string) bool {
	switch {
	case r.AnyResource:
		return true
	case r.Cluster:
		return false
	case r.SystemBuckets:
		return strings.HasPrefix(coll, "system.buckets.") && (r.DB == "" || r.DB == db)
	case r.DB == "" && r.Collection == "":
		return db != "local" && db != "config" && !isSystem(coll)
	case r.DB == "":
		return coll == r.Collection
	case r.Collection == "":
		return db == r.DB && !isSystem(coll)
	}
	return db == r.DB && coll == r.Collection
}

func isSystem(coll string) bool { return strings.HasPrefix(coll, "system.") }

// Action sets of the built-in roles (MongoDB's builtin roles definitions).
var (
	readActions = []string{"changeStream", "collStats", "dbHash", "dbStats", "find", "killCursors",
		"listCollections", "listIndexes", "listSearchIndexes", "planCacheRead"}
	readWriteActions = concat(readActions, "cleanupStructuredEncryptionData", "compactStructuredEncryptionData",
		"convertToCapped", "createCollection", "createIndex", "createSearchIndexes", "dropCollection", "dropIndex",
		"dropSearchIndex", "insert", "remove", "renameCollectionSameDB", "update", "updateSearchIndex")
	dbAdminActions = []string{"analyze", "bypassDocumentValidation", "collMod", "collStats", "compact",
		"convertToCapped", "createCollection", "dbStats", "dropCollection", "dropDatabase", "dropIndex",
		"dropSearchIndex", "createIndex", "createSearchIndexes", "enableProfiler", "listCollections", "listIndexes",
		"listSearchIndexes", "updateSearchIndex", "planCacheIndexFilter", "planCacheRead", "planCacheWrite",
		"reIndex", "renameCollectionSameDB", "storageDetails", "validate", "configureQueryAnalyzer"}
	userAdminActions = []string{"changeCustomData", "changePassword", "createUser", "createRole", "dropUser",
		"dropRole", "grantRole", "revokeRole", "setAuthenticationRestriction", "viewUser", "viewRole"}
	profileActions        = concat(readActions, "convertToCapped", "createCollection", "dropCollection")
	clusterMonitorCluster = []string{"connPoolStats", "getCmdLineOpts", "getDefaultRWConcern", "getLog",
		"getParameter", "getShardMap", "hostInfo", "listDatabases", "listSampledQueries", "listSessions",
		"listShards", "netstat", "operationMetrics", "replSetGetConfig", "replSetGetStatus", "serverStatus", "top",
		"useUUID", "inprog", "shardingState", "allCollectionStats", "shardedDataDistribution"}
	clusterMonitorDB   = []string{"collStats", "dbStats", "getDatabaseVersion", "getShardVersion", "indexStats"}
	hostManagerCluster = []string{"applicationMessage", "auditConfigure", "connPoolSync", "dropConnections",
		"logRotate", "oidReset", "setParameter", "shutdown", "touch", "unlock", "flushRouterConfig", "fsync",
		"invalidateUserCache", "killAnyCursor", "killAnySession", "killop", "replSetResizeOplog", "resync",
		"trafficRecord", "rotateCertificates"}
	clusterManagerCluster = []string{"appendOplogNote", "applicationMessage", "replSetConfigure",
		"replSetGetConfig", "replSetGetStatus", "replSetStateChange", "resync", "addShard", "removeShard",
		"listSessions", "listShards", "flushRouterConfig", "cleanupOrphaned", "getDefaultRWConcern",
		"setDefaultRWConcern", "setFeatureCompatibilityVersion", "setClusterParameter", "getClusterParameter",
		"setChangeStreamState", "getChangeStreamState", "checkMetadataConsistency"}
	clusterManagerDB = []string{"analyzeShardKey", "configureQueryAnalyzer", "clearJumboFlag", "splitChunk",
		"moveChunk", "moveCollection", "enableSharding", "splitVector", "refineCollectionShardKey", "reshardCollection"}
	restoreWrite = []string{"bypassDocumentValidation", "collMod", "convertToCapped", "createCollection",
		"createIndex", "createSearchIndexes", "dropCollection", "insert", "updateSearchIndex"}
)

func concat(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

func onDB(db string, actions ...string) Privilege {
	return Privilege{Resource: Resource{DB: db}, Actions: actions}
}

func onNS(db, coll string, actions ...string) Privilege {
	return Privilege{Resource: Resource{DB: db, Collection: coll}, Actions: actions}
}

func onCluster(actions ...string) Privilege {
	return Privilege{Resource: Resource{Cluster: true}, Actions: actions}
}

func onBuckets(actions ...string) Privilege {
	return Privilege{Resource: Resource{SystemBuckets: true}, Actions: actions}
}

// adminOnlyRoles exist only on the admin database.
var adminOnlyRoles = map[string]bool{
	"readAnyDatabase": true, "readWriteAnyDatabase": true, "dbAdminAnyDatabase": true,
	"userAdminAnyDatabase": true, "clusterMonitor": true, "hostManager": true, "clusterManager": true,
	"clusterAdmin": true, "backup": true, "restore": true, "root": true,
}

// rolePrivileges expands a built-in role (with the roles it includes).
func rolePrivileges(r Role) ([]Privilege, error) {
	if adminOnlyRoles[r.Name] && r.DB != "admin" {
		return nil, fmt.Errorf("role %s exists only on the admin database, not %q", r.Name, r.DB)
	}
	d := r.DB
	switch r.Name {
	case "read":
		return []Privilege{onDB(d, readActions...), onNS(d, "system.js", readActions...)}, nil
	case "readWrite":
		return []Privilege{onDB(d, readWriteActions...), onNS(d, "system.js", readWriteActions...)}, nil
	case "dbAdmin":
		return []Privilege{onDB(d, dbAdminActions...), onNS(d, "system.profile", profileActions...)}, nil
	case "userAdmin":
		return []Privilege{onDB(d, userAdminActions...)}, nil
	case "dbOwner":
		return expand(Role{"readWrite", d}, Role{"dbAdmin", d}, Role{"userAdmin", d})
	case "readAnyDatabase":
		return []Privilege{onDB("", readActions...), onCluster("listDatabases"), onNS("", "system.js", readActions...),
			onBuckets(readActions...)}, nil
	case "readWriteAnyDatabase":
		p, _ := rolePrivileges(Role{"readAnyDatabase", "admin"})
		return append(p, onDB("", readWriteActions...), onNS("", "system.js", readWriteActions...),
			onBuckets(readWriteActions...)), nil
	case "dbAdminAnyDatabase":
		return []Privilege{onCluster("listDatabases", "applyOps"), onDB("", dbAdminActions...),
			onNS("", "system.profile", profileActions...), onBuckets(dbAdminActions...)}, nil
	case "userAdminAnyDatabase":
		usersRoles := concat(readActions, "createIndex", "createSearchIndexes", "dropIndex", "dropSearchIndex")
		return []Privilege{onDB("", concat(userAdminActions, "listCachedAndActiveUsers")...),
			onDB("local", userAdminActions...), onDB("config", userAdminActions...),
			onCluster("listDatabases", "authSchemaUpgrade", "invalidateUserCache", "viewUser"),
			onNS("admin", "system.users", usersRoles...), onNS("admin", "system.roles", usersRoles...),
			onNS("", "system.users", readActions...), onNS("admin", "system.version", readActions...),
			onNS("admin", "system.backup_users", readActions...)}, nil
	case "clusterMonitor":
		p, _ := expand(Role{"read", "config"}, Role{"read", "local"})
		return append(p, onCluster(clusterMonitorCluster...), onDB("", clusterMonitorDB...),
			onDB("config", clusterMonitorDB...), onNS("config", "system.sessions", clusterMonitorDB...),
			onDB("local", clusterMonitorDB...), onNS("local", "system.replset", "find"),
			onNS("local", "replset.election", "find"), onNS("local", "replset.minvalid", "find"),
			onNS("", "system.profile", "find")), nil
	case "hostManager":
		return []Privilege{onCluster(hostManagerCluster...), onDB("", "killCursors")}, nil
	case "clusterManager":
		p, _ := expand(Role{"read", "config"})
		return append(p, onCluster(clusterManagerCluster...), onDB("", clusterManagerDB...),
			onBuckets(clusterManagerDB...), onDB("config", concat(clusterManagerDB, "insert", "update", "remove")...),
			onDB("local", concat(clusterManagerDB, "insert", "update", "remove")...),
			onNS("local", "system.replset", readActions...),
			Privilege{Resource: Resource{AnyResource: true}, Actions: []string{"dbCheck"}}), nil
	case "clusterAdmin":
		p, _ := expand(Role{"clusterMonitor", "admin"}, Role{"hostManager", "admin"}, Role{"clusterManager", "admin"})
		return append(p, onDB("", "dropDatabase"),
			Privilege{Resource: Resource{AnyResource: true}, Actions: []string{"importCollection", "exportCollection"}}), nil
	case "backup":
		return []Privilege{onCluster("appendOplogNote", "serverStatus", "setUserWriteBlockMode", "getParameter",
			"listDatabases", "useUUID"),
			Privilege{Resource: Resource{AnyResource: true}, Actions: []string{"collStats", "listCollections", "listIndexes", "listSearchIndexes"}},
			onDB("", "find"), onBuckets("find"), onDB("config", "find"), onDB("local", "find"),
			onNS("config", "settings", "find", "insert", "update")}, nil
	case "restore":
		return []Privilege{onCluster("getParameter", "forceUUID", "useUUID", "bypassWriteBlockingMode",
			"setUserWriteBlockMode", "applyOps"),
			onDB("local", restoreWrite...), onDB("config", restoreWrite...), onBuckets(restoreWrite...),
			Privilege{Resource: Resource{AnyResource: true}, Actions: []string{"listCollections"}},
			onDB("", concat(restoreWrite, userAdminActions...)...), onNS("", "system.js", restoreWrite...),
			onNS("", "system.users", concat(restoreWrite, "find", "update", "remove")...),
			onNS("admin", "system.version", concat(restoreWrite, "find")...)}, nil
	case "root":
		p, _ := expand(Role{"clusterAdmin", "admin"}, Role{"userAdminAnyDatabase", "admin"},
			Role{"dbAdminAnyDatabase", "admin"}, Role{"readWriteAnyDatabase", "admin"},
			Role{"backup", "admin"}, Role{"restore", "admin"})
		return append(p, Privilege{Resource: Resource{AnyResource: true}, Actions: []string{"validate"}},
			onCluster("useTenant"), onNS("config", "system.preimages", "find", "remove"),
			onNS("config", "system.change_collection", "find", "insert", "remove", "update")), nil
	}
	return nil, fmt.Errorf("unknown role %q (mongosim knows MongoDB's built-in roles only)", r.Name)
}

func expand(roles ...Role) ([]Privilege, error) {
	var out []Privilege
	for _, r := range roles {
		p, err := rolePrivileges(r)
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}

// privilegesOf merges the privileges of roles by resource, actions sorted,
// resources in order of first appearance.
func privilegesOf(roles []Role) ([]Privilege, error) {
	all, err := expand(roles...)
	if err != nil {
		return nil, err
	}
	index := map[Resource]int{}
	var sets []map[string]bool
	var order []Resource
	for _, p := range all {
		i, ok := index[p.Resource]
		if !ok {
			i = len(sets)
			index[p.Resource] = i
			sets = append(sets, map[string]bool{})
			order = append(order, p.Resource)
		}
		for _, a := range p.Actions {
			sets[i][a] = true
		}
	}
	out := make([]Privilege, len(order))
	for i, r := range order {
		out[i] = Privilege{Resource: r, Actions: sortedActions(sets[i])}
	}
	return out, nil
}
