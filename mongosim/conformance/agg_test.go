package conformance

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// aggregateEJ runs a pipeline written as a JSON array of stages.
func aggregateEJ(t *testing.T, coll *mongo.Collection, pipeline string) ([]bson.Raw, error) {
	t.Helper()
	arr := ej(t, `{"p": `+pipeline+`}`).Lookup("p").Array()
	vals, err := arr.Values()
	if err != nil {
		t.Fatal(err)
	}
	stages := make(bson.A, len(vals))
	for i, v := range vals {
		stages[i] = v.Document()
	}
	cur, err := coll.Aggregate(ctxT(t), stages)
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctxT(t))
	var out []bson.Raw
	for cur.Next(ctxT(t)) {
		out = append(out, append(bson.Raw(nil), cur.Current...))
	}
	return out, cur.Err()
}

func wantAgg(t *testing.T, coll *mongo.Collection, pipeline string, want ...string) {
	t.Helper()
	got, err := aggregateEJ(t, coll, pipeline)
	if err != nil {
		t.Fatalf("%s: %v", pipeline, err)
	}
	wantDocsEJ(t, pipeline, got, want...)
}

func wantAggErr(t *testing.T, coll *mongo.Collection, pipeline string, code int32) {
	t.Helper()
	_, err := aggregateEJ(t, coll, pipeline)
	wantCode(t, err, code)
}

func TestAggregateGroupAndSort(t *testing.T) {
	coll := newDB(t).Collection("sales")
	insertEJ(t, coll,
		`{"_id": 1, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 2, "date": {"$date": "2014-03-01T08:00:00Z"}}`,
		`{"_id": 2, "item": "jkl", "price": {"$numberDecimal": "20"}, "quantity": 1, "date": {"$date": "2014-03-01T09:00:00Z"}}`,
		`{"_id": 3, "item": "xyz", "price": {"$numberDecimal": "5"}, "quantity": 10, "date": {"$date": "2014-03-15T09:00:00Z"}}`,
		`{"_id": 4, "item": "xyz", "price": {"$numberDecimal": "5"}, "quantity": 20, "date": {"$date": "2014-04-04T11:21:39.736Z"}}`,
		`{"_id": 5, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 10, "date": {"$date": "2014-04-04T21:23:13.331Z"}}`,
		`{"_id": 6, "item": "def", "price": {"$numberDecimal": "7.5"}, "quantity": 5, "date": {"$date": "2015-06-04T05:08:13Z"}}`,
		`{"_id": 7, "item": "def", "price": {"$numberDecimal": "7.5"}, "quantity": 10, "date": {"$date": "2015-09-10T08:43:00Z"}}`,
		`{"_id": 8, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 5, "date": {"$date": "2016-02-06T20:20:13Z"}}`,
	)
	wantAgg(t, coll, `[{"$group": {"_id": null, "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}, "averageQuantity": {"$avg": "$quantity"}, "count": {"$sum": 1}}}]`,
		`{"_id": null, "totalSaleAmount": {"$numberDecimal": "452.5"}, "averageQuantity": 7.875, "count": 8}`)
	wantAgg(t, coll, `[{"$group": {"_id": "$item", "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}}}, {"$match": {"totalSaleAmount": {"$gte": 100}}}, {"$sort": {"totalSaleAmount": -1}}]`,
		`{"_id": "abc", "totalSaleAmount": {"$numberDecimal": "170"}}`, `{"_id": "xyz", "totalSaleAmount": {"$numberDecimal": "150"}}`, `{"_id": "def", "totalSaleAmount": {"$numberDecimal": "112.5"}}`)
	wantAgg(t, coll, `[{"$match": {"date": {"$gte": {"$date": "2014-01-01T00:00:00Z"}, "$lt": {"$date": "2015-01-01T00:00:00Z"}}}},
		{"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}}, "qty": {"$sum": "$quantity"}, "items": {"$push": "$item"}}}, {"$sort": {"_id": 1}}]`,
		`{"_id": "2014-03-01", "qty": 3, "items": ["abc", "jkl"]}`, `{"_id": "2014-03-15", "qty": 10, "items": ["xyz"]}`, `{"_id": "2014-04-04", "qty": 30, "items": ["xyz", "abc"]}`)
	wantAgg(t, coll, `[{"$sort": {"quantity": -1, "_id": 1}}, {"$skip": 1}, {"$limit": 3}, {"$project": {"_id": 1, "quantity": 1}}]`,
		`{"_id": 3, "quantity": 10}`, `{"_id": 5, "quantity": 10}`, `{"_id": 7, "quantity": 10}`)
	wantAgg(t, coll, `[{"$match": {"item": "abc"}}, {"$count": "n"}]`, `{"n": 3}`)
	wantAgg(t, coll, `[{"$match": {"item": "none"}}, {"$count": "n"}]`)
	wantAgg(t, coll, `[{"$sortByCount": "$item"}, {"$match": {"count": {"$gt": 2}}}]`, `{"_id": "abc", "count": 3}`)
	wantAgg(t, coll, `[{"$match": {"_id": 1}}, {"$set": {"total": {"$multiply": ["$price", "$quantity"]}}}, {"$unset": ["date", "price"]}]`,
		`{"_id": 1, "item": "abc", "quantity": 2, "total": {"$numberDecimal": "20"}}`)
}

func TestAggregateBucketAuto(t *testing.T) {
	coll := newDB(t).Collection("artwork")
	insertEJ(t, coll,
		`{"_id": 1, "title": "The Pillars of Society", "artist": "Grosz", "year": 1926, "price": {"$numberDecimal": "199.99"}}`,
		`{"_id": 2, "title": "Melancholy III", "artist": "Munch", "year": 1902, "price": {"$numberDecimal": "280.00"}}`,
		`{"_id": 3, "title": "Dancer", "artist": "Miro", "year": 1925, "price": {"$numberDecimal": "76.04"}}`,
		`{"_id": 4, "title": "The Great Wave off Kanagawa", "artist": "Hokusai", "price": {"$numberDecimal": "167.30"}}`,
		`{"_id": 5, "title": "The Persistence of Memory", "artist": "Dali", "year": 1931, "price": {"$numberDecimal": "483.00"}}`,
		`{"_id": 6, "title": "Composition VII", "artist": "Kandinsky", "year": 1913, "price": {"$numberDecimal": "385.00"}}`,
		`{"_id": 7, "title": "The Scream", "artist": "Munch", "year": 1893}`,
		`{"_id": 8, "title": "Blue Flower", "artist": "O'Keefe", "year": 1918, "price": {"$numberDecimal": "118.42"}}`,
	)
	wantAgg(t, coll, `[{"$bucketAuto": {"groupBy": "$price", "buckets": 4}}]`,
		`{"_id": {"min": null, "max": {"$numberDecimal": "118.42"}}, "count": 2}`,
		`{"_id": {"min": {"$numberDecimal": "118.42"}, "max": {"$numberDecimal": "199.99"}}, "count": 2}`,
		`{"_id": {"min": {"$numberDecimal": "199.99"}, "max": {"$numberDecimal": "385.00"}}, "count": 2}`,
		`{"_id": {"min": {"$numberDecimal": "385.00"}, "max": {"$numberDecimal": "483.00"}}, "count": 2}`)
	wantAgg(t, coll, `[{"$bucket": {"groupBy": "$year", "boundaries": [1890, 1910, 1920, 1940], "default": "Unknown", "output": {"count": {"$sum": 1}}}}]`,
		`{"_id": 1890, "count": 2}`, `{"_id": 1910, "count": 2}`, `{"_id": 1920, "count": 3}`, `{"_id": "Unknown", "count": 1}`)
	wantAggErr(t, coll, `[{"$bucketAuto": {"groupBy": "$price"}}]`, 40246)
}

func TestAggregateUnwindReplaceRootFacet(t *testing.T) {
	coll := newDB(t).Collection("inv")
	insertEJ(t, coll,
		`{"_id": 1, "item": "ABC", "sizes": ["S", "M", "L"], "info": {"color": "red"}}`,
		`{"_id": 2, "item": "EFG", "sizes": [], "info": {"color": "blue"}}`,
		`{"_id": 3, "item": "IJK", "sizes": "M", "info": {"color": "red"}}`,
		`{"_id": 4, "item": "LMN", "info": {"color": "green"}}`,
	)
	wantAgg(t, coll, `[{"$unwind": {"path": "$sizes", "includeArrayIndex": "i"}}, {"$project": {"info": 0}}]`,
		`{"_id": 1, "item": "ABC", "sizes": "S", "i": {"$numberLong": "0"}}`,
		`{"_id": 1, "item": "ABC", "sizes": "M", "i": {"$numberLong": "1"}}`,
		`{"_id": 1, "item": "ABC", "sizes": "L", "i": {"$numberLong": "2"}}`,
		`{"_id": 3, "item": "IJK", "sizes": "M", "i": null}`)
	wantAgg(t, coll, `[{"$unwind": {"path": "$sizes", "preserveNullAndEmptyArrays": true}}, {"$match": {"_id": {"$in": [2, 4]}}}, {"$project": {"info": 0}}]`,
		`{"_id": 2, "item": "EFG"}`, `{"_id": 4, "item": "LMN"}`)
	wantAgg(t, coll, `[{"$match": {"_id": {"$lte": 2}}}, {"$replaceRoot": {"newRoot": {"$mergeObjects": [{"id": "$_id"}, "$info"]}}}]`,
		`{"id": 1, "color": "red"}`, `{"id": 2, "color": "blue"}`)
	wantAgg(t, coll, `[{"$facet": {"byColor": [{"$sortByCount": "$info.color"}, {"$limit": 1}], "total": [{"$count": "n"}]}}]`,
		`{"byColor": [{"_id": "red", "count": 2}], "total": [{"n": 4}]}`)
	wantAggErr(t, coll, `[{"$replaceRoot": {"newRoot": "$nope"}}]`, 40228)
}

func TestAggregateStageErrors(t *testing.T) {
	coll := newDB(t).Collection("e")
	insertEJ(t, coll, `{"_id": 1}`)
	wantAggErr(t, coll, `[{"$bogus": {}}]`, 40324)
	wantAggErr(t, coll, `[{"$group": {"n": {"$sum": 1}}}]`, 15955)
	wantAggErr(t, coll, `[{"$group": {"_id": null, "n": {"$bogus": 1}}}]`, 15952)
	wantAggErr(t, coll, `[{"$limit": 0}]`, 15958)
	wantAggErr(t, coll, `[{"$skip": -1}]`, 15956)
	wantAggErr(t, coll, `[{"$sort": {}}]`, 15976)
	wantAggErr(t, coll, `[{"$unwind": "noDollar"}]`, 28818)
	wantAggErr(t, coll, `[{"$count": "$n"}]`, 40158)
	wantAggErr(t, coll, `[{"$project": {"a": 1, "b": 0}}]`, 31254)
	wantAggErr(t, coll, `[{"$project": {"x": {"$bogus": 1}}}]`, 168)
	wantAggErr(t, coll, `[{"$project": {"x": {"$divide": [1, 0]}}}]`, 2)
}
