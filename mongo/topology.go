package mongo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ServerInfo is what preflight needs to know about a deployment.
type ServerInfo struct {
	Version      string // "7.0.14"
	VersionArray []int  // [7, 0, 14, 0]
	SetName      string // "" for a standalone
	IsMongos     bool
	Hosts        []string
	Me           string
	ProcessID    string // topologyVersion.processId: unique per server process
	MaxWire      int32
	MaxBatch     int // maxWriteBatchSize
	MaxBSONSize  int // maxBsonObjectSize
	MaxMessage   int // maxMessageSizeBytes
	ClusterTime  bson.Timestamp
}

// ServerInfo reads hello and buildInfo.
func (c *Client) ServerInfo(ctx context.Context) (ServerInfo, error) {
	var info ServerInfo
	hello, err := c.RunCommand(ctx, "admin", bson.D{{Key: "hello", Value: 1}})
	if err != nil {
		return info, fmt.Errorf("%s: hello: %w", c.role, err)
	}
	info.SetName, _ = hello.Lookup("setName").StringValueOK()
	if msg, _ := hello.Lookup("msg").StringValueOK(); msg == "isdbgrid" {
		info.IsMongos = true
	}
	info.Me, _ = hello.Lookup("me").StringValueOK()
	if arr, ok := hello.Lookup("hosts").ArrayOK(); ok {
		vals, _ := arr.Values()
		for _, v := range vals {
			if s, ok := v.StringValueOK(); ok {
				info.Hosts = append(info.Hosts, s)
			}
		}
	}
	if pid, err := hello.LookupErr("topologyVersion", "processId"); err == nil {
		if oid, ok := pid.ObjectIDOK(); ok {
			info.ProcessID = oid.Hex()
		}
	}
	info.MaxWire = int32(AsInt(hello.Lookup("maxWireVersion")))
	info.MaxBatch = int(AsInt(hello.Lookup("maxWriteBatchSize")))
	info.MaxBSONSize = int(AsInt(hello.Lookup("maxBsonObjectSize")))
	info.MaxMessage = int(AsInt(hello.Lookup("maxMessageSizeBytes")))
	if t, i, ok := hello.Lookup("$clusterTime", "clusterTime").TimestampOK(); ok {
		info.ClusterTime = bson.Timestamp{T: t, I: i}
	}
	bi, err := c.RunCommand(ctx, "admin", bson.D{{Key: "buildInfo", Value: 1}})
	if err != nil {
		return info, fmt.Errorf("%s: buildInfo: %w", c.role, err)
	}
	info.Version, _ = bi.Lookup("version").StringValueOK()
	if arr, ok := bi.Lookup("versionArray").ArrayOK(); ok {
		vals, _ := arr.Values()
		for _, v := range vals {
			info.VersionArray = append(info.VersionArray, int(AsInt(v)))
		}
	}
	if len(info.VersionArray) == 0 {
		info.VersionArray = parseVersion(info.Version)
	}
	return info, nil
}

func parseVersion(v string) []int {
	var out []int
	for _, p := range strings.Split(strings.SplitN(v, "-", 2)[0], ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

// AtLeast reports whether the server version is ≥ want (e.g. 6, 0, 17).
func (s ServerInfo) AtLeast(want ...int) bool {
	for i, w := range want {
		have := 0
		if i < len(s.VersionArray) {
			have = s.VersionArray[i]
		}
		if have != w {
			return have > w
		}
	}
	return true
}

// SameDeployment reports whether two infos describe the same replica set:
// the same server process, or the same set name with a shared host.
func SameDeployment(a, b ServerInfo) bool {
	if a.ProcessID != "" && a.ProcessID == b.ProcessID {
		return true
	}
	if a.SetName == "" || a.SetName != b.SetName {
		return false
	}
	for _, h := range a.Hosts {
		for _, g := range b.Hosts {
			if strings.EqualFold(h, g) {
				return true
			}
		}
	}
	return false
}

// AsInt reads any numeric BSON value as int64 (0 when absent).
func AsInt(v bson.RawValue) int64 {
	switch v.Type {
	case bson.TypeInt32:
		return int64(v.Int32())
	case bson.TypeInt64:
		return v.Int64()
	case bson.TypeDouble:
		return int64(v.Double())
	}
	return 0
}

// Privilege is one entry of connectionStatus.authInfo.authenticatedUserPrivileges.
type Privilege struct {
	DB, Collection string
	Cluster        bool
	AnyResource    bool
	// SystemBuckets: the resource is {db, system_buckets} — time-series
	// bucket collections only, not the database's collections.
	SystemBuckets bool
	Actions       map[string]bool
}

// Privileges returns the connected user's privileges; authenticated is false
// when the server runs without access control (every action allowed).
func (c *Client) Privileges(ctx context.Context) (privs []Privilege, authenticated bool, err error) {
	raw, err := c.RunCommand(ctx, "admin", bson.D{{Key: "connectionStatus", Value: 1}, {Key: "showPrivileges", Value: true}})
	if err != nil {
		return nil, false, fmt.Errorf("%s: connectionStatus: %w", c.role, err)
	}
	users, _ := raw.Lookup("authInfo", "authenticatedUsers").ArrayOK()
	if vals, _ := users.Values(); len(vals) == 0 {
		return nil, false, nil
	}
	arr, _ := raw.Lookup("authInfo", "authenticatedUserPrivileges").ArrayOK()
	vals, _ := arr.Values()
	for _, v := range vals {
		d, ok := v.DocumentOK()
		if !ok {
			continue
		}
		p := Privilege{Actions: map[string]bool{}}
		res, _ := d.Lookup("resource").DocumentOK()
		p.DB, _ = res.Lookup("db").StringValueOK()
		p.Collection, _ = res.Lookup("collection").StringValueOK()
		p.Cluster, _ = res.Lookup("cluster").BooleanOK()
		p.AnyResource, _ = res.Lookup("anyResource").BooleanOK()
		_, bucketsErr := res.LookupErr("system_buckets")
		p.SystemBuckets = bucketsErr == nil
		acts, _ := d.Lookup("actions").ArrayOK()
		av, _ := acts.Values()
		for _, a := range av {
			if s, ok := a.StringValueOK(); ok {
				p.Actions[s] = true
			}
		}
		privs = append(privs, p)
	}
	return privs, true, nil
}

// Allows reports whether the privileges grant action on a resource: db ""
// with collection "" means "every database" (as MongoDB's resource
// patterns), cluster for cluster-wide actions.
func Allows(privs []Privilege, action, db, coll string, cluster bool) bool {
	for _, p := range privs {
		if !p.Actions[action] || p.SystemBuckets {
			continue
		}
		switch {
		case p.AnyResource:
			return true
		case cluster:
			if p.Cluster {
				return true
			}
		case p.Cluster:
			continue
		case p.DB == "" && p.Collection == "":
			return true
		case p.DB == db && (p.Collection == "" || p.Collection == coll):
			return true
		case p.DB == "" && p.Collection == coll:
			return true
		}
	}
	return false
}
