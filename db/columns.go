package db

import (
	"strings"
	"time"

	"gorm.io/gorm"
)

// columns is the SET list of an UPDATE that writes only what an edit changed, so that two edits
// of different fields of one record, made at once, both stay.
type columns struct {
	set  []string
	args []any
}

// add sets column name to v when changed holds.
func (c *columns) add(name string, changed bool, v any) {
	if changed {
		c.set = append(c.set, name+" = ?")
		c.args = append(c.args, v)
	}
}

// edit sets the columns every edit writes: the record's next version, who made it and when.
func (c *columns) edit(version int64, by string, at time.Time) {
	c.add("version", true, version)
	c.add("updated_by", true, by)
	c.add("updated_at", true, at)
}

// empty reports whether nothing is to be written.
func (c *columns) empty() bool { return len(c.set) == 0 }

// update writes the columns to the row of table with the id.
func (c *columns) update(tx *gorm.DB, table, id string) error {
	return tx.Exec("UPDATE "+table+" SET "+strings.Join(c.set, ", ")+" WHERE id = ?", append(c.args, id)...).Error
}
