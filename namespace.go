package mlink

import (
	"fmt"
	"strings"
)

// Namespace names a collection (or view) as database + collection.
type Namespace struct {
	DB   string
	Coll string
}

// ParseNamespace splits "db.coll" at the first dot (collection names may
// contain dots, database names may not).
func ParseNamespace(s string) (Namespace, error) {
	db, coll, ok := strings.Cut(s, ".")
	if !ok || db == "" || coll == "" {
		return Namespace{}, fmt.Errorf("invalid namespace %q: want <database>.<collection>", s)
	}
	return Namespace{DB: db, Coll: coll}, nil
}

func (n Namespace) String() string { return n.DB + "." + n.Coll }

// IsSystem reports whether the namespace belongs to MongoDB's internal or
// mlink's own data, which is never replicated: the admin, config and local
// databases, system.* collections and mlink's metadata database.
func (n Namespace) IsSystem() bool {
	return IsSystemDB(n.DB) || strings.HasPrefix(n.Coll, "system.")
}

// IsSystemDB reports whether a whole database is never replicated.
func IsSystemDB(db string) bool {
	switch db {
	case "admin", "config", "local", MetaDB:
		return true
	}
	return false
}
