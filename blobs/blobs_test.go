package blobs_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/blobs"
)

// roundTrip writes, reads and deletes blobs in s.
func roundTrip(t *testing.T, s *blobs.Store) {
	t.Helper()
	ctx := context.Background()
	data := bytes.Repeat([]byte("招标文件 tender ·"), 40000) // about 1 MB
	if err := s.WriteBlob(ctx, "files/id-1", bytes.NewReader(data), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	r, err := s.ReadBlob(ctx, "files/id-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v; want %d", len(got), err, len(data))
	}
	if err := s.DeleteBlob(ctx, "files/id-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadBlob(ctx, "files/id-1"); kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
		t.Errorf("a deleted blob read: %v", err)
	}
	if err := s.DeleteBlob(ctx, "files/id-1"); err != nil {
		t.Errorf("deleted twice: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestFileBlobs: a folder, made when missing, as in dev.
func TestFileBlobs(t *testing.T) {
	u, err := blobs.FileURL(filepath.Join(t.TempDir(), "data", "files"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := blobs.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	roundTrip(t, s)
}

// weedBin is the SeaweedFS binary make s3-server builds: KAMFLOW_WEED_BIN, else the Makefile's
// cache.
func weedBin() string {
	if b := os.Getenv("KAMFLOW_WEED_BIN"); b != "" {
		return b
	}
	home, _ := os.UserHomeDir()
	matches, _ := filepath.Glob(filepath.Join(home, ".cache", "kamflow", "weed-*", "weed"))
	if len(matches) == 0 {
		return ""
	}
	return matches[len(matches)-1]
}

// freePorts finds n ports free on loopback whose gRPC ports (10,000 above: SeaweedFS's) are too.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	free := func(p int) bool {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		l.Close()
		return true
	}
	for tries := 0; len(out) < n && tries < 1000; tries++ {
		p := 20000 + rand.IntN(30000)
		if free(p) && free(p+10000) {
			out = append(out, p)
		}
	}
	if len(out) < n {
		t.Fatal("no free ports")
	}
	return out
}

// TestS3Blobs: an S3-compatible bucket, a SeaweedFS server started on loopback (built by make
// s3-server). Skipped without the binary, unless KAMFLOW_REQUIRE_S3=1 (CI), which fails instead.
func TestS3Blobs(t *testing.T) {
	bin := weedBin()
	if bin == "" {
		if os.Getenv("KAMFLOW_REQUIRE_S3") == "1" {
			t.Fatal("KAMFLOW_REQUIRE_S3=1 but no SeaweedFS binary: run make s3-server (or set KAMFLOW_WEED_BIN)")
		}
		t.Skip("no SeaweedFS binary: make s3-server builds it")
	}
	dir := t.TempDir()
	p := freePorts(t, 4)
	cmd := exec.Command(bin, "server", "-dir="+dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		fmt.Sprintf("-master.port=%d", p[0]), fmt.Sprintf("-volume.port=%d", p[1]), fmt.Sprintf("-filer.port=%d", p[2]),
		"-s3", fmt.Sprintf("-s3.port=%d", p[3]), "-s3.port.iceberg=0", "-master.volumeSizeLimitMB=64", "-volume.max=4")
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			t.Logf("weed's log:\n%s", b)
		}
	})
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", p[3])
	// Up once its S3 gateway answers; then the bucket, made as an operator would.
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodPut, endpoint+"/kamflow-files", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("SeaweedFS's S3 gateway did not come up in 60 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "kamflow-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "kamflow-test-secret")
	s, err := blobs.Open(context.Background(), "s3://kamflow-files?endpoint="+endpoint+"&region=us-east-1&use_path_style=true&disable_https=true")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	roundTrip(t, s)
}
