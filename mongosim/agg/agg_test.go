package agg

import "testing"

func TestMatchProjectSortLimit(t *testing.T) {
	in := `[{"_id": 1, "a": 5, "b": "x"}, {"_id": 2, "a": 1, "b": "y"}, {"_id": 3, "a": 3, "b": "z"}]`
	expectDocs(t, `[{"$match": {"a": {"$gt": 1}}}]`, in, `[{"_id": 1, "a": 5, "b": "x"}, {"_id": 3, "a": 3, "b": "z"}]`)
	expectDocs(t, `[{"$sort": {"a": 1}}]`, in, `[{"_id": 2, "a": 1, "b": "y"}, {"_id": 3, "a": 3, "b": "z"}, {"_id": 1, "a": 5, "b": "x"}]`)
	expectDocs(t, `[{"$sort": {"a": -1}}, {"$limit": 1}]`, in, `[{"_id": 1, "a": 5, "b": "x"}]`)
	expectDocs(t, `[{"$sort": {"a": -1}}, {"$skip": 1}, {"$limit": 1}]`, in, `[{"_id": 3, "a": 3, "b": "z"}]`)
	expectDocs(t, `[{"$project": {"b": 1}}]`, in, `[{"_id": 1, "b": "x"}, {"_id": 2, "b": "y"}, {"_id": 3, "b": "z"}]`)
	expectDocs(t, `[{"$project": {"_id": 0, "c": {"$add": ["$a", 1]}}}]`, in, `[{"c": 6}, {"c": 2}, {"c": 4}]`)
	expectDocs(t, `[{"$count": "n"}]`, in, `[{"n": 3}]`)
	expectDocs(t, `[{"$match": {"a": 99}}, {"$count": "n"}]`, in, `[]`)
}

func TestGroupBasics(t *testing.T) {
	in := `[{"item": "abc", "price": 10, "quantity": 2}, {"item": "jkl", "price": 20, "quantity": 1}, {"item": "xyz", "price": 5, "quantity": 10}, {"item": "xyz", "price": 5, "quantity": 5}, {"item": "abc", "price": 10, "quantity": 10}]`
	expectDocs(t, `[{"$group": {"_id": "$item", "total": {"$sum": {"$multiply": ["$price", "$quantity"]}}, "n": {"$sum": 1}, "avgQ": {"$avg": "$quantity"}}}]`, in,
		`[{"_id": "abc", "total": 120, "n": 2, "avgQ": 6.0}, {"_id": "jkl", "total": 20, "n": 1, "avgQ": 1.0}, {"_id": "xyz", "total": 75, "n": 2, "avgQ": 7.5}]`)
	expectDocs(t, `[{"$group": {"_id": null, "count": {"$count": {}}}}]`, in, `[{"_id": null, "count": 5}]`)
}
