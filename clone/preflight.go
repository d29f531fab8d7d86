package clone

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// MinVersion is the oldest MongoDB release mlink supports on either side.
var MinVersion = []int{6, 0, 17}

// Report is what preflight found. Unsupported items and target conflicts
// are listed even when preflight passes.
type Report struct {
	Source      mongo.ServerInfo
	Target      mongo.ServerInfo
	Unsupported []Unsupported
	// NonEmpty lists target namespaces of the plan that already hold data.
	NonEmpty []string
}

// PreflightOptions select the checks that depend on the request.
type PreflightOptions struct {
	OverwriteTarget bool
	// Resuming skips the empty-target check: the target holds our own
	// partial copy.
	Resuming bool
}

// Preflight checks, before anything is written, that the sync can run:
// both sides reachable replica sets of a supported version, different
// deployments, enough privileges, and no data on the target that the
// clone would mix with (unless overwriting was asked for).
func Preflight(ctx context.Context, src, dst *mongo.Client, plan Plan, opts PreflightOptions) (Report, error) {
	rep := Report{Unsupported: plan.Unsupported}
	var err error
	for _, side := range []struct {
		c    *mongo.Client
		info *mongo.ServerInfo
	}{{src, &rep.Source}, {dst, &rep.Target}} {
		if err := side.c.Ping(ctx); err != nil {
			return rep, err
		}
		if *side.info, err = side.c.ServerInfo(ctx); err != nil {
			return rep, err
		}
		if err := checkTopology(side.c.Role(), *side.info); err != nil {
			return rep, err
		}
	}
	if mongo.SameDeployment(rep.Source, rep.Target) {
		return rep, errors.New("source and target are the same deployment (same server process or replica set): mlink would copy a cluster onto itself; check the URIs")
	}
	if err := checkPrivileges(ctx, src, dst, plan); err != nil {
		return rep, err
	}
	if opts.Resuming {
		return rep, nil
	}
	for _, ci := range plan.Collections {
		has, err := dst.HasDocuments(ctx, ci.NS)
		if err != nil {
			return rep, err
		}
		if has {
			rep.NonEmpty = append(rep.NonEmpty, ci.NS.String())
		}
	}
	if len(rep.NonEmpty) > 0 && !opts.OverwriteTarget {
		return rep, &mlink.InputError{Msg: fmt.Sprintf(
			"target already holds data in %d namespace(s) to be cloned: %s; empty them, narrow the filter, or start with overwriteTarget (--overwrite-target) to drop and re-create them",
			len(rep.NonEmpty), strings.Join(limit(rep.NonEmpty, 20), ", "))}
	}
	return rep, nil
}

func checkTopology(role mongo.Role, info mongo.ServerInfo) error {
	switch {
	case info.IsMongos:
		return fmt.Errorf("%s is a sharded cluster (mongos): mlink supports replica sets only for now", role)
	case info.SetName == "":
		return fmt.Errorf("%s is a standalone server, not a replica set: mlink needs replica sets on both sides (change streams and majority writes need the oplog); convert it to a single-node replica set", role)
	case !info.AtLeast(MinVersion...):
		return fmt.Errorf("%s runs MongoDB %s: mlink needs %d.%d.%d or newer", role, info.Version, MinVersion[0], MinVersion[1], MinVersion[2])
	}
	return nil
}

// Actions mlink needs. Source: list and read everything, open a cluster
// change stream. Target: create and write everything, including its own
// metadata database.
var (
	sourceDBActions      = []string{"find", "listCollections", "listIndexes", "collStats", "changeStream"}
	targetDBActions      = []string{"find", "insert", "update", "remove", "createCollection", "createIndex", "dropCollection", "dropIndex", "collMod", "bypassDocumentValidation"}
	sourceClusterActions = []string{"listDatabases"}
	// A cluster-wide change stream needs its actions on every database.
	sourceAnyDBActions   = []string{"changeStream", "find"}
	targetClusterActions = []string{"listDatabases"}
)

func checkPrivileges(ctx context.Context, src, dst *mongo.Client, plan Plan) error {
	dbs := map[string]bool{}
	for _, ns := range plan.Namespaces() {
		dbs[ns.DB] = true
	}
	check := func(c *mongo.Client, clusterActs, anyDBActs, dbActs []string, dbs map[string]bool) error {
		privs, authed, err := c.Privileges(ctx)
		if err != nil || !authed {
			return err
		}
		var missing []string
		for _, a := range clusterActs {
			if !mongo.Allows(privs, a, "", "", true) {
				missing = append(missing, fmt.Sprintf("%q on the cluster", a))
			}
		}
		for _, a := range anyDBActs {
			if !mongo.Allows(privs, a, "", "", false) {
				missing = append(missing, fmt.Sprintf("%q on all databases (mlink reads one cluster-wide change stream; readAnyDatabase grants it)", a))
			}
		}
		// One entry per database, in name order: short and stable.
		for _, db := range slices.Sorted(maps.Keys(dbs)) {
			var acts []string
			for _, a := range dbActs {
				if !mongo.Allows(privs, a, db, "", false) {
					acts = append(acts, strconv.Quote(a))
				}
			}
			if len(acts) > 0 {
				missing = append(missing, fmt.Sprintf("%s on database %s", strings.Join(acts, ", "), db))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s user lacks privileges mlink needs: %s", c.Role(), strings.Join(limit(missing, 10), "; "))
		}
		return nil
	}
	if err := check(src, sourceClusterActions, sourceAnyDBActions, sourceDBActions, dbs); err != nil {
		return err
	}
	tdbs := map[string]bool{mlink.MetaDB: true}
	for db := range dbs {
		tdbs[db] = true
	}
	return check(dst, targetClusterActions, nil, targetDBActions, tdbs)
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("… and %d more", len(s)-n))
}
