#!/usr/bin/env python3
"""pymongo smoke test against a running mongosim (or any MongoDB replica set).

Usage: smoke.py mongodb://127.0.0.1:27017/?replicaSet=rs0
Exits non-zero with a message on the first failed assertion.
"""
import sys

import bson
from bson.raw_bson import RawBSONDocument
import pymongo
from pymongo import MongoClient, ASCENDING
from pymongo.errors import OperationFailure


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def main(uri):
    client = MongoClient(uri, serverSelectionTimeoutMS=10000)
    db = client["pysmoke_db"]
    client.drop_database("pysmoke_db")
    try:
        coll = db["items"]
        res = coll.insert_many([{"_id": i, "v": i * 10, "tag": "even" if i % 2 == 0 else "odd"} for i in range(5, 0, -1)])
        check(sorted(res.inserted_ids) == [1, 2, 3, 4, 5], "inserted ids %r" % res.inserted_ids)

        # Raw batches sorted by _id. pymongo 3.x (Debian's) implements
        # find_raw_batches with legacy OP_QUERY/OP_GET_MORE, removed in
        # MongoDB 5.1: like mongod 6.0+, the server must refuse it. Newer
        # pymongo uses OP_MSG, which works.
        ids = []
        try:
            for batch in coll.find_raw_batches({}, sort=[("_id", ASCENDING)], batch_size=2):
                ids.extend(doc["_id"] for doc in bson.decode_all(batch))
            check(ids == [1, 2, 3, 4, 5], "find_raw_batches order %r" % ids)
        except OperationFailure as exc:
            check(pymongo.version_tuple < (4,) and exc.code == 5739101, "find_raw_batches failed: %r" % exc)
            raw = db.get_collection("items", codec_options=bson.CodecOptions(document_class=RawBSONDocument))
            ids = [bson.decode(d.raw)["_id"] for d in raw.find({}, sort=[("_id", ASCENDING)], batch_size=2)]
            check(ids == [1, 2, 3, 4, 5], "raw find order %r" % ids)

        upd = coll.update_many({"tag": "odd"}, {"$inc": {"v": 1}})
        check(upd.matched_count == 3 and upd.modified_count == 3, "update_many %r" % upd.raw_result)
        check(coll.find_one({"_id": 3})["v"] == 31, "updated value %r" % coll.find_one({"_id": 3}))
        up = coll.update_one({"_id": 9}, {"$set": {"v": 90}}, upsert=True)
        check(up.upserted_id == 9, "upserted id %r" % up.upserted_id)

        raw = coll.find_one({"_id": 9}, projection={"_id": 0})
        check(raw == {"v": 90}, "projection %r" % raw)

        db.create_collection("capped", capped=True, size=4096)
        names = sorted(db.list_collection_names())
        check(names == ["capped", "items"], "collection names %r" % names)
        opts = db["capped"].options()
        check(opts.get("capped") is True and opts.get("size") == 4096, "options %r" % opts)

        coll.create_index([("v", ASCENDING)], name="v_1", unique=True)
        info = coll.index_information()
        check(set(info) == {"_id_", "v_1"}, "index_information %r" % info)
        check(info["v_1"]["key"] == [("v", 1)] and info["v_1"].get("unique") is True, "v_1 %r" % info["v_1"])

        check(coll.count_documents({"v": {"$gte": 40}}) == 3, "count_documents")
        check(sorted(coll.distinct("tag")) == ["even", "odd"], "distinct")
        rawdoc = db.get_collection("items", codec_options=bson.CodecOptions(document_class=RawBSONDocument)).find_one({"_id": 1})
        check(bson.decode(rawdoc.raw) == {"_id": 1, "v": 11, "tag": "odd"}, "raw document %r" % bson.decode(rawdoc.raw))
    finally:
        client.drop_database("pysmoke_db")
    check("pysmoke_db" not in client.list_database_names(), "drop_database left the database")
    client.close()
    print("pysmoke: ok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: smoke.py URI")
    main(sys.argv[1])
