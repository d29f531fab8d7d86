package agg

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

const sales = `[
 {"_id": 1, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 2, "date": {"$date": "2014-03-01T08:00:00Z"}},
 {"_id": 2, "item": "jkl", "price": {"$numberDecimal": "20"}, "quantity": 1, "date": {"$date": "2014-03-01T09:00:00Z"}},
 {"_id": 3, "item": "xyz", "price": {"$numberDecimal": "5"}, "quantity": 10, "date": {"$date": "2014-03-15T09:00:00Z"}},
 {"_id": 4, "item": "xyz", "price": {"$numberDecimal": "5"}, "quantity": 20, "date": {"$date": "2014-04-04T11:21:39.736Z"}},
 {"_id": 5, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 10, "date": {"$date": "2014-04-04T21:23:13.331Z"}},
 {"_id": 6, "item": "def", "price": {"$numberDecimal": "7.5"}, "quantity": 5, "date": {"$date": "2015-06-04T05:08:13Z"}},
 {"_id": 7, "item": "def", "price": {"$numberDecimal": "7.5"}, "quantity": 10, "date": {"$date": "2015-09-10T08:43:00Z"}},
 {"_id": 8, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 5, "date": {"$date": "2016-02-06T20:20:13Z"}}
]`

func TestGroupDocsExamples(t *testing.T) {
	expectDocs(t, `[{"$group": {"_id": null, "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}, "averageQuantity": {"$avg": "$quantity"}, "count": {"$sum": 1}}}]`,
		sales, `[{"_id": null, "totalSaleAmount": {"$numberDecimal": "452.5"}, "averageQuantity": 7.875, "count": 8}]`)
	expectDocs(t, `[{"$group": {"_id": "$item", "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}}}, {"$match": {"totalSaleAmount": {"$gte": 100}}}, {"$sort": {"totalSaleAmount": -1}}]`,
		sales, `[{"_id": "abc", "totalSaleAmount": {"$numberDecimal": "170"}}, {"_id": "xyz", "totalSaleAmount": {"$numberDecimal": "150"}}, {"_id": "def", "totalSaleAmount": {"$numberDecimal": "112.5"}}]`)
	expectDocs(t, `[{"$group": {"_id": {"$dateToString": {"format": "%Y", "date": "$date"}}, "count": {"$sum": 1}, "items": {"$addToSet": "$item"}}}, {"$sort": {"_id": -1}}]`,
		sales, `[{"_id": "2016", "count": 1, "items": ["abc"]}, {"_id": "2015", "count": 2, "items": ["def"]}, {"_id": "2014", "count": 5, "items": ["abc", "jkl", "xyz"]}]`)
	expectDocs(t, `[{"$sort": {"_id": 1}}, {"$group": {"_id": "$item", "first": {"$first": "$quantity"}, "last": {"$last": "$quantity"}, "min": {"$min": "$quantity"}, "max": {"$max": "$quantity"}, "qs": {"$push": "$quantity"}}}, {"$sort": {"_id": 1}}]`,
		sales, `[{"_id": "abc", "first": 2, "last": 5, "min": 2, "max": 10, "qs": [2, 10, 5]},
		         {"_id": "def", "first": 5, "last": 10, "min": 5, "max": 10, "qs": [5, 10]},
		         {"_id": "jkl", "first": 1, "last": 1, "min": 1, "max": 1, "qs": [1]},
		         {"_id": "xyz", "first": 10, "last": 20, "min": 10, "max": 20, "qs": [10, 20]}]`)
}

func TestGroupSemantics(t *testing.T) {
	in := `[{"k": 1, "v": 1}, {"k": 1.0, "v": "x"}, {"k": {"$numberLong": "1"}, "v": null}, {"v": 4}, {"k": null, "v": 5}, {"k": [1, 2], "v": 6}]`
	expectDocs(t, `[{"$group": {"_id": "$k", "n": {"$sum": 1}, "s": {"$sum": "$v"}, "mx": {"$max": "$v"}, "mn": {"$min": "$v"}, "f": {"$first": "$nope"}}}]`, in,
		`[{"_id": 1, "n": 3, "s": 1, "mx": "x", "mn": 1, "f": null},
		  {"_id": null, "n": 2, "s": 9, "mx": 5, "mn": 4, "f": null},
		  {"_id": [1, 2], "n": 1, "s": 6, "mx": 6, "mn": 6, "f": null}]`)
	expectDocs(t, `[{"$group": {"_id": {"a": "$a", "b": "$b"}, "n": {"$sum": 1}}}]`, `[{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 2.0}]`,
		`[{"_id": {"a": 1, "b": 2}, "n": 3}]`)
	expectDocs(t, `[{"$group": {"_id": "$d", "n": {"$sum": 1}}}]`, `[{"d": {"a": 1, "b": 2}}, {"d": {"b": 2, "a": 1}}, {"d": {"a": 1, "b": 2.0}}]`,
		`[{"_id": {"a": 1, "b": 2}, "n": 2}, {"_id": {"b": 2, "a": 1}, "n": 1}]`)
	expectDocs(t, `[{"$group": {"_id": null, "s": {"$sum": "$v"}, "avg": {"$avg": "$v"}}}]`, `[{"v": 2147483647}, {"v": 1}]`,
		`[{"_id": null, "s": {"$numberLong": "2147483648"}, "avg": 1073741824.0}]`)
	expectDocs(t, `[{"$group": {"_id": null, "s": {"$sum": "$v"}}}]`, `[{"v": 0.1}, {"v": 0.2}, {"v": 0.3}]`, `[{"_id": null, "s": 0.6}]`)
	expectDocs(t, `[{"$group": {"_id": null, "s": {"$sum": "$v"}, "a": {"$avg": "$v"}}}]`, `[{"v": "x"}]`, `[{"_id": null, "s": 0, "a": null}]`)
	expectDocs(t, `[{"$group": {"_id": null, "m": {"$mergeObjects": "$d"}}}]`, `[{"d": {"a": 1, "b": 1}}, {"d": null}, {"d": {"b": 2}}]`, `[{"_id": null, "m": {"a": 1, "b": 2}}]`)
	expectDocs(t, `[{"$group": {"_id": null, "sd": {"$stdDevPop": "$v"}, "ss": {"$stdDevSamp": "$v"}}}]`, `[{"v": 2}, {"v": 4}, {"v": 4}, {"v": 4}, {"v": 5}, {"v": 5}, {"v": 7}, {"v": 9}]`,
		`[{"_id": null, "sd": 2.0, "ss": 2.138089935299395}]`)
	expectDocs(t, `[{"$group": {"_id": "$x"}}]`, `[]`, `[]`)
}

func TestGroupErrors(t *testing.T) {
	expectErr(t, `[{"$group": {"n": {"$sum": 1}}}]`, `[]`, 15955)
	expectErr(t, `[{"$group": {"_id": null, "n": {"$foo": 1}}}]`, `[]`, 15952)
	expectErr(t, `[{"$group": {"_id": null, "n": 1}}]`, `[]`, 40234)
	expectErr(t, `[{"$group": {"_id": null, "n": {"$sum": 1, "$avg": 1}}}]`, `[]`, 40238)
	expectErr(t, `[{"$group": {"_id": null, "a.b": {"$sum": 1}}}]`, `[]`, 40235)
	expectErr(t, `[{"$group": {"_id": null, "n": {"$sum": [1, 2]}}}]`, `[]`, 40237)
	expectErr(t, `[{"$group": 1}]`, `[]`, 15947)
}

func TestUnwind(t *testing.T) {
	in := `[{"_id": 1, "item": "ABC", "sizes": ["S", "M", "L"]}, {"_id": 2, "item": "EFG", "sizes": []}, {"_id": 3, "item": "IJK", "sizes": "M"}, {"_id": 4, "item": "LMN"}, {"_id": 5, "item": "XYZ", "sizes": null}]`
	expectDocs(t, `[{"$unwind": "$sizes"}]`, in,
		`[{"_id": 1, "item": "ABC", "sizes": "S"}, {"_id": 1, "item": "ABC", "sizes": "M"}, {"_id": 1, "item": "ABC", "sizes": "L"}, {"_id": 3, "item": "IJK", "sizes": "M"}]`)
	expectDocs(t, `[{"$unwind": {"path": "$sizes", "includeArrayIndex": "arrayIndex"}}]`, in,
		`[{"_id": 1, "item": "ABC", "sizes": "S", "arrayIndex": {"$numberLong": "0"}}, {"_id": 1, "item": "ABC", "sizes": "M", "arrayIndex": {"$numberLong": "1"}},
		  {"_id": 1, "item": "ABC", "sizes": "L", "arrayIndex": {"$numberLong": "2"}}, {"_id": 3, "item": "IJK", "sizes": "M", "arrayIndex": null}]`)
	expectDocs(t, `[{"$unwind": {"path": "$sizes", "preserveNullAndEmptyArrays": true}}]`, in,
		`[{"_id": 1, "item": "ABC", "sizes": "S"}, {"_id": 1, "item": "ABC", "sizes": "M"}, {"_id": 1, "item": "ABC", "sizes": "L"},
		  {"_id": 2, "item": "EFG"}, {"_id": 3, "item": "IJK", "sizes": "M"}, {"_id": 4, "item": "LMN"}, {"_id": 5, "item": "XYZ", "sizes": null}]`)
	expectDocs(t, `[{"$unwind": "$a.b"}]`, `[{"_id": 1, "a": {"b": [1, 2], "c": 3}, "z": 0}]`,
		`[{"_id": 1, "a": {"b": 1, "c": 3}, "z": 0}, {"_id": 1, "a": {"b": 2, "c": 3}, "z": 0}]`)
	expectErr(t, `[{"$unwind": "sizes"}]`, `[]`, 28818)
	expectErr(t, `[{"$unwind": 1}]`, `[]`, 15981)
	expectErr(t, `[{"$unwind": {"path": "$a", "x": 1}}]`, `[]`, 28811)
	expectErr(t, `[{"$unwind": {"preserveNullAndEmptyArrays": true}}]`, `[]`, 28812)
	expectErr(t, `[{"$unwind": {"path": "$a", "includeArrayIndex": "$i"}}]`, `[]`, 28822)
	// The path is a FieldPath: mongod's codes for an empty path, a trailing
	// dot, an empty component and a '$'-prefixed component.
	expectErr(t, `[{"$unwind": "$"}]`, `[]`, 40352)
	expectErr(t, `[{"$unwind": "$a."}]`, `[]`, 40353)
	expectErr(t, `[{"$unwind": "$a..b"}]`, `[]`, 15998)
	expectErr(t, `[{"$unwind": "$a.$b"}]`, `[]`, 16410)
}

const artwork = `[
 {"_id": 1, "title": "The Pillars of Society", "artist": "Grosz", "year": 1926, "price": {"$numberDecimal": "199.99"}},
 {"_id": 2, "title": "Melancholy III", "artist": "Munch", "year": 1902, "price": {"$numberDecimal": "280.00"}},
 {"_id": 3, "title": "Dancer", "artist": "Miro", "year": 1925, "price": {"$numberDecimal": "76.04"}},
 {"_id": 4, "title": "The Great Wave off Kanagawa", "artist": "Hokusai", "price": {"$numberDecimal": "167.30"}},
 {"_id": 5, "title": "The Persistence of Memory", "artist": "Dali", "year": 1931, "price": {"$numberDecimal": "483.00"}},
 {"_id": 6, "title": "Composition VII", "artist": "Kandinsky", "year": 1913, "price": {"$numberDecimal": "385.00"}},
 {"_id": 7, "title": "The Scream", "artist": "Munch", "year": 1893},
 {"_id": 8, "title": "Blue Flower", "artist": "O'Keefe", "year": 1918, "price": {"$numberDecimal": "118.42"}}
]`

func TestBucketAuto(t *testing.T) {
	expectDocs(t, `[{"$bucketAuto": {"groupBy": "$price", "buckets": 4}}]`, artwork, `[
		{"_id": {"min": null, "max": {"$numberDecimal": "118.42"}}, "count": 2},
		{"_id": {"min": {"$numberDecimal": "118.42"}, "max": {"$numberDecimal": "199.99"}}, "count": 2},
		{"_id": {"min": {"$numberDecimal": "199.99"}, "max": {"$numberDecimal": "385.00"}}, "count": 2},
		{"_id": {"min": {"$numberDecimal": "385.00"}, "max": {"$numberDecimal": "483.00"}}, "count": 2}]`)
	expectDocs(t, `[{"$bucketAuto": {"groupBy": "$year", "buckets": 3, "output": {"count": {"$sum": 1}, "titles": {"$push": "$title"}}}}]`, artwork, `[
		{"_id": {"min": null, "max": 1913}, "count": 3, "titles": ["The Great Wave off Kanagawa", "The Scream", "Melancholy III"]},
		{"_id": {"min": 1913, "max": 1926}, "count": 3, "titles": ["Composition VII", "Blue Flower", "Dancer"]},
		{"_id": {"min": 1926, "max": 1931}, "count": 2, "titles": ["The Pillars of Society", "The Persistence of Memory"]}]`)
	// Equal values never straddle a boundary, so fewer buckets may come out.
	expectDocs(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": 3}}]`, `[{"v": 1}, {"v": 1}, {"v": 1}, {"v": 1}, {"v": 2}]`, `[
		{"_id": {"min": 1, "max": 2}, "count": 4}, {"_id": {"min": 2, "max": 2}, "count": 1}]`)
	// More buckets than documents: one document per bucket.
	expectDocs(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": 10}}]`, `[{"v": 3}, {"v": 1}]`, `[
		{"_id": {"min": 1, "max": 3}, "count": 1}, {"_id": {"min": 3, "max": 3}, "count": 1}]`)
	expectDocs(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "POWERSOF2"}}]`, `[{"v": 1}, {"v": 3}, {"v": 5}, {"v": 9}]`, `[
		{"_id": {"min": 0.5, "max": 4}, "count": 2}, {"_id": {"min": 4, "max": 16}, "count": 2}]`)
	expectErr(t, `[{"$bucketAuto": {"groupBy": "$v"}}]`, `[]`, 40246)
	expectErr(t, `[{"$bucketAuto": {"groupBy": "v", "buckets": 2}}]`, `[]`, 40239)
	expectErr(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": 0}}]`, `[]`, 40243)
	expectErr(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": "x"}}]`, `[]`, 40241)
	expectErr(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "x": 1}}]`, `[]`, 40245)
	expectErr(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R5"}}]`, `[{"v": "s"}]`, 40258)
}

func TestBucket(t *testing.T) {
	expectDocs(t, `[{"$bucket": {"groupBy": "$year", "boundaries": [1890, 1910, 1920, 1940], "default": "Unknown", "output": {"count": {"$sum": 1}, "artists": {"$push": "$artist"}}}}]`, artwork, `[
		{"_id": 1890, "count": 2, "artists": ["Munch", "Munch"]},
		{"_id": 1910, "count": 2, "artists": ["Kandinsky", "O'Keefe"]},
		{"_id": 1920, "count": 3, "artists": ["Grosz", "Miro", "Dali"]},
		{"_id": "Unknown", "count": 1, "artists": ["Hokusai"]}]`)
	expectErr(t, `[{"$bucket": {"groupBy": "$year", "boundaries": [1890, 1910]}}]`, artwork, 40066)
	expectErr(t, `[{"$bucket": {"groupBy": "$year", "boundaries": [1890]}}]`, `[]`, 40192)
	expectErr(t, `[{"$bucket": {"groupBy": "$year", "boundaries": [1, "a"]}}]`, `[]`, 40193)
	expectErr(t, `[{"$bucket": {"groupBy": "$year", "boundaries": [5, 1]}}]`, `[]`, 40194)
	expectErr(t, `[{"$bucket": {"groupBy": "$year", "boundaries": [1, 5], "default": 3}}]`, `[]`, 40199)
}

func TestReplaceRootAndSortByCount(t *testing.T) {
	in := `[{"_id": 1, "name": {"first": "John", "last": "Backus"}}, {"_id": 2, "name": {"first": "John", "last": "McCarthy"}}, {"_id": 3, "name": {"first": "Grace", "last": "Hopper"}}]`
	expectDocs(t, `[{"$replaceRoot": {"newRoot": "$name"}}]`, in,
		`[{"first": "John", "last": "Backus"}, {"first": "John", "last": "McCarthy"}, {"first": "Grace", "last": "Hopper"}]`)
	expectDocs(t, `[{"$replaceWith": {"$mergeObjects": [{"_id": "$_id"}, "$name"]}}, {"$limit": 1}]`, in, `[{"_id": 1, "first": "John", "last": "Backus"}]`)
	expectErr(t, `[{"$replaceRoot": {"newRoot": "$missing"}}]`, in, 40228)
	expectErr(t, `[{"$replaceRoot": {"newRoot": "$name", "x": 1}}]`, in, 40415)
	expectDocs(t, `[{"$sortByCount": "$name.first"}]`, in, `[{"_id": "John", "count": 2}, {"_id": "Grace", "count": 1}]`)
	expectErr(t, `[{"$sortByCount": "name"}]`, in, 40148)
}

func TestCountSkipLimitErrors(t *testing.T) {
	expectErr(t, `[{"$limit": 0}]`, `[]`, 15958)
	expectErr(t, `[{"$limit": "1"}]`, `[]`, 15957)
	expectErr(t, `[{"$skip": -1}]`, `[]`, 15956)
	expectErr(t, `[{"$skip": "x"}]`, `[]`, 15972)
	expectErr(t, `[{"$count": ""}]`, `[]`, 40157)
	expectErr(t, `[{"$count": "$x"}]`, `[]`, 40158)
	expectErr(t, `[{"$count": "a.b"}]`, `[]`, 40160)
	expectErr(t, `[{"$count": 1}]`, `[]`, 40156)
	expectErr(t, `[{"$foo": 1}]`, `[]`, 40324)
	expectErr(t, `[{"$match": {}, "$limit": 1}]`, `[]`, 40323)
	expectErr(t, `[{"$match": 1}]`, `[]`, 15959)
	expectErr(t, `[{"$sort": {}}]`, `[]`, 15976)
	expectErr(t, `[{"$sort": 1}]`, `[]`, 15973)
	expectErr(t, `[{"$project": 1}]`, `[]`, 15969)
	expectErr(t, `[{"$unset": 1}]`, `[]`, 31002)
	expectErr(t, `[{"$unset": [1]}]`, `[]`, 31120)
	expectErr(t, `[{"$match": {}}, {"$collStats": {}}]`, `[]`, 40602)
	expectErr(t, `[{"$lookup": {}}]`, `[]`, 238)
	expectDocs(t, `[{"$skip": 5}]`, `[{"a": 1}]`, `[]`)
	expectDocs(t, `[{"$limit": 1.0}]`, `[{"a": 1}, {"a": 2}]`, `[{"a": 1}]`)
}

func TestSetUnsetAndExprStages(t *testing.T) {
	in := `[{"_id": 1, "a": 1, "b": {"c": 2, "d": 3}}]`
	expectDocs(t, `[{"$set": {"x": {"$add": ["$a", "$b.c"]}}}, {"$unset": ["b.d", "a"]}]`, in, `[{"_id": 1, "b": {"c": 2}, "x": 3}]`)
	expectDocs(t, `[{"$unset": "b"}]`, in, `[{"_id": 1, "a": 1}]`)
	expectDocs(t, `[{"$match": {"$expr": {"$lt": ["$a", "$b.c"]}}}, {"$project": {"now": "$$NOW", "_id": 0}}]`, in, `[{"now": {"$date": "2024-01-02T03:04:05Z"}}]`)
	expectErr(t, `[{"$project": {"x": {"$divide": [1, 0]}}}]`, in, 2)
}

func TestFacetSampleAndCollStats(t *testing.T) {
	in := `[{"a": 1}, {"a": 2}, {"a": 3}]`
	expectDocs(t, `[{"$facet": {"cnt": [{"$count": "n"}], "top": [{"$sort": {"a": -1}}, {"$limit": 1}]}}]`, in,
		`[{"cnt": [{"n": 3}], "top": [{"a": 3}]}]`)
	expectErr(t, `[{"$facet": {"x": [{"$collStats": {}}]}}]`, `[]`, 40600)
	got, err := runPipeline(t, `[{"$sample": {"size": 2}}]`, in)
	if err != nil || len(got) != 2 {
		t.Fatalf("$sample: %d docs, %v", len(got), err)
	}
	seen := map[string]bool{}
	for _, d := range got {
		seen[d.String()] = true
	}
	if len(seen) != 2 {
		t.Fatalf("$sample returned duplicates: %s", renderDocs(got))
	}
	got, _ = runPipeline(t, `[{"$sample": {"size": 10}}]`, in)
	if len(got) != 3 {
		t.Fatalf("$sample larger than input returned %d docs", len(got))
	}
	expectErr(t, `[{"$sample": {}}]`, `[]`, 28749)
	expectErr(t, `[{"$sample": {"size": -1}}]`, `[]`, 28747)
	p, err := CompileOptions(docsJ(t, `[{"$collStats": {"count": {}}}]`), env, Options{Namespace: "db.c"})
	if err != nil {
		t.Fatal(err)
	}
	if p.FirstStageName() != "$collStats" {
		t.Fatalf("first stage %q", p.FirstStageName())
	}
	it, _ := p.Run(context.Background(), SliceIterator(nil))
	docs, err := Collect(it)
	if err != nil || len(docs) != 1 || docs[0].Lookup("ns").StringValue() != "db.c" {
		t.Fatalf("collStats: %s %v", renderDocs(docs), err)
	}
}

func TestSortLimitKeepsTopKStable(t *testing.T) {
	in := `[{"k": 2, "i": 0}, {"k": 1, "i": 1}, {"k": 2, "i": 2}, {"k": 0, "i": 3}, {"k": 1, "i": 4}, {"k": 2, "i": 5}]`
	expectDocs(t, `[{"$sort": {"k": -1}}, {"$limit": 2}]`, in, `[{"k": 2, "i": 0}, {"k": 2, "i": 2}]`)
	expectDocs(t, `[{"$sort": {"k": 1}}, {"$skip": 1}, {"$limit": 2}]`, in, `[{"k": 1, "i": 1}, {"k": 1, "i": 4}]`)
	p, _ := Compile(docsJ(t, `[{"$match": {"k": {"$gt": 0}}}, {"$sort": {"k": 1}}, {"$limit": 3}]`), env)
	if s, n := p.LeadingSortLimit(); s == nil || n != 3 {
		t.Fatalf("leading sort/limit = %v %d", s, n)
	}
	if p.LeadingMatch() == nil {
		t.Fatal("leading match missing")
	}
}

func TestRunHonoursContext(t *testing.T) {
	p, _ := Compile(docsJ(t, `[{"$match": {}}]`), env)
	ctx, cancel := context.WithCancel(context.Background())
	it, err := p.Run(ctx, SliceIterator(docsJ(t, `[{"a": 1}, {"a": 2}]`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := it.Next(); !ok || err != nil {
		t.Fatal("first document expected")
	}
	cancel()
	if _, _, err := it.Next(); err != context.Canceled {
		t.Fatalf("got %v after cancel", err)
	}
}

func TestNAccumulators(t *testing.T) {
	games := `[
	 {"playerId": "PlayerA", "gameId": "G1", "score": 31}, {"playerId": "PlayerB", "gameId": "G1", "score": 33},
	 {"playerId": "PlayerC", "gameId": "G1", "score": 99}, {"playerId": "PlayerD", "gameId": "G1", "score": 1},
	 {"playerId": "PlayerA", "gameId": "G2", "score": 10}, {"playerId": "PlayerB", "gameId": "G2", "score": 14},
	 {"playerId": "PlayerC", "gameId": "G2", "score": 66}, {"playerId": "PlayerD", "gameId": "G2", "score": 80}]`
	expectDocs(t, `[{"$match": {"gameId": "G1"}}, {"$group": {"_id": "$gameId", "playerId": {"$top": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}}}}}]`, games,
		`[{"_id": "G1", "playerId": ["PlayerC", 99]}]`)
	expectDocs(t, `[{"$match": {"gameId": "G1"}}, {"$group": {"_id": "$gameId", "playerId": {"$topN": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}, "n": 3}}}}]`, games,
		`[{"_id": "G1", "playerId": [["PlayerC", 99], ["PlayerB", 33], ["PlayerA", 31]]}]`)
	expectDocs(t, `[{"$match": {"gameId": "G1"}}, {"$group": {"_id": "$gameId", "playerId": {"$bottom": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}}}}}]`, games,
		`[{"_id": "G1", "playerId": ["PlayerD", 1]}]`)
	expectDocs(t, `[{"$match": {"gameId": "G1"}}, {"$group": {"_id": "$gameId", "playerId": {"$bottomN": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}, "n": 3}}}}]`, games,
		`[{"_id": "G1", "playerId": [["PlayerB", 33], ["PlayerA", 31], ["PlayerD", 1]]}]`)
	expectDocs(t, `[{"$group": {"_id": "$gameId", "first": {"$firstN": {"input": "$score", "n": 2}}, "last": {"$lastN": {"input": "$score", "n": 2}},
	    "max": {"$maxN": {"input": "$score", "n": 2}}, "min": {"$minN": {"input": "$score", "n": 2}}}}]`, games,
		`[{"_id": "G1", "first": [31, 33], "last": [99, 1], "max": [99, 33], "min": [1, 31]}, {"_id": "G2", "first": [10, 14], "last": [66, 80], "max": [80, 66], "min": [10, 14]}]`)
	expectErr(t, `[{"$group": {"_id": null, "x": {"$firstN": {"input": "$a"}}}}]`, `[]`, 5787906)
	expectErr(t, `[{"$group": {"_id": null, "x": {"$firstN": {"input": "$a", "n": 0}}}}]`, `[]`, 5787908)
	expectErr(t, `[{"$group": {"_id": null, "x": {"$top": {"output": "$a"}}}}]`, `[]`, 5788002)
}

func TestBucketAutoGranularityInfinityTerminates(t *testing.T) {
	for _, g := range []string{"R5", "POWERSOF2", "1-2-5"} {
		got, err := runPipeline(t, `[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "`+g+`"}}]`,
			`[{"v": 1}, {"v": {"$numberDouble": "Infinity"}}]`)
		if err != nil || len(got) == 0 {
			t.Fatalf("%s: %v %s", g, err, renderDocs(got))
		}
	}
}

// failingIter yields its documents, then fails.
type failingIter struct {
	docs []bsoncore.Document
	err  error
}

func (f *failingIter) Next() (bsoncore.Document, bool, error) {
	if len(f.docs) == 0 {
		return nil, false, f.err
	}
	d := f.docs[0]
	f.docs = f.docs[1:]
	return d, true, nil
}

// Blocking stages read their whole input first: a cancelled context or an
// input error is their first result, and they yield nothing after an input
// error.
func TestBlockingStagesStopOnCancelAndInputError(t *testing.T) {
	stages := []string{
		`[{"$sort": {"a": 1}}]`,
		`[{"$sort": {"a": 1}}, {"$limit": 1}]`,
		`[{"$group": {"_id": "$a"}}]`,
		`[{"$bucketAuto": {"groupBy": "$a", "buckets": 2}}]`,
		`[{"$sample": {"size": 1}}]`,
		`[{"$count": "n"}]`,
	}
	input := `[{"a": 2}, {"a": 1}]`
	inputErr := errors.New("input broke")
	for _, st := range stages {
		p, err := Compile(docsJ(t, st), env)
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		it, err := p.Run(ctx, SliceIterator(docsJ(t, input)))
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		if d, ok, err := it.Next(); ok || err != context.Canceled {
			t.Fatalf("%s: got %s %v %v with a cancelled context", st, d, ok, err)
		}
		it, err = p.Run(context.Background(), &failingIter{docs: docsJ(t, input), err: inputErr})
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		if _, _, err := it.Next(); err != inputErr {
			t.Fatalf("%s: got %v, want the input's error", st, err)
		}
		if d, ok, err := it.Next(); ok || err != nil {
			t.Fatalf("%s: after the input error got %s %v %v", st, d, ok, err)
		}
	}
}
