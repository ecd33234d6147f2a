// This module stands in for github.com/glebarez/go-sqlite (see ../../../go.mod's replace).
module github.com/glebarez/go-sqlite

go 1.26

require modernc.org/sqlite v1.51.0
