//go:build ignore

// Extract writes one face of a TrueType collection (.ttc) as a standalone, gzip-compressed
// TrueType font. It is how wqy-microhei.ttf.gz was made from Debian's fonts-wqy-microhei:
//
//	go run extract.go /usr/share/fonts/truetype/wqy/wqy-microhei.ttc 0 wqy-microhei.ttf.gz
//
// The tables are copied byte for byte; only the table directory's offsets and the head table's
// whole-font checksum adjustment are rewritten, as a standalone font needs. The gzip header
// carries no name or time, so the output depends on the input alone.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go run extract.go <collection.ttc> <face index> <out.ttf.gz>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(1)
	}
}

type table struct {
	tag            string
	sum, off, size uint32
}

func run(in, faceArg, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	face, err := strconv.Atoi(faceArg)
	if err != nil {
		return err
	}
	be := binary.BigEndian
	if len(data) < 12 || string(data[:4]) != "ttcf" {
		return errors.New("not a TrueType collection")
	}
	if face < 0 || face >= int(be.Uint32(data[8:])) {
		return fmt.Errorf("no face %d", face)
	}
	dir := int(be.Uint32(data[12+4*face:]))
	n := int(be.Uint16(data[dir+4:]))
	tables := make([]table, n)
	for i := range tables {
		r := data[dir+12+16*i:]
		tables[i] = table{string(r[:4]), be.Uint32(r[4:]), be.Uint32(r[8:]), be.Uint32(r[12:])}
	}
	// The directory must be sorted by tag; the data follows it in the same order.
	sort.Slice(tables, func(i, j int) bool { return tables[i].tag < tables[j].tag })

	var font bytes.Buffer
	font.Write(data[dir : dir+12]) // sfnt version and the binary-search fields, unchanged
	font.Write(make([]byte, 16*n))
	headAt := -1
	for i, t := range tables {
		for font.Len()%4 != 0 {
			font.WriteByte(0)
		}
		if t.tag == "head" {
			headAt = font.Len()
		}
		r := font.Bytes()[12+16*i:]
		copy(r, t.tag)
		be.PutUint32(r[4:], t.sum)
		be.PutUint32(r[8:], uint32(font.Len()))
		be.PutUint32(r[12:], t.size)
		font.Write(data[t.off : t.off+t.size])
	}
	for font.Len()%4 != 0 {
		font.WriteByte(0)
	}
	if headAt < 0 {
		return errors.New("no head table")
	}
	b := font.Bytes()
	be.PutUint32(b[headAt+8:], 0)
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		sum += be.Uint32(b[i:])
	}
	be.PutUint32(b[headAt+8:], 0xB1B0AFBA-sum)

	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, z.Bytes(), 0o644)
}
