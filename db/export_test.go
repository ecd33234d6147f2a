package db

import "context"

// OpenAt opens the database at url and migrates it only up to version upTo, for tests of a
// migration over the data of an older schema. Open migrates the rest.
func OpenAt(ctx context.Context, url string, upTo int64) (*DB, error) {
	d, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := d.migrateTo(ctx, upTo); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}
