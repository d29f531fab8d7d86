module github.com/mlink-dev/mlink

go 1.26.8

require go.mongodb.org/mongo-driver/v2 v2.10.0

require github.com/google/btree v1.1.3 // indirect
