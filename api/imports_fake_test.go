package api_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/importer"
)

// The import's workflow in process: StartImport runs the same steps as its activities (package
// importer's Await, Plan, Commit, Finish) in a goroutine, in the workflow's order; an infra error
// of the commit is retried a few times (the workflow retries it for hours), and CancelImport
// cancels the commit's context as the workflow's signal cancels its activity.

// importRuns are a fake service's import runs.
type importRuns struct {
	wg sync.WaitGroup
	mu sync.Mutex
	// cancel cancels a running run's commit, by import ID; cancelled says a cancel came.
	cancel    map[string]context.CancelFunc
	cancelled map[string]bool
	// hold, when set, is waited on before each run commits (a test's chance to cancel it).
	hold chan struct{}
}

var fakeImportRuns sync.Map // *fakeService → *importRuns

func (s *fakeService) imports() *importRuns {
	r, _ := fakeImportRuns.LoadOrStore(s, &importRuns{cancel: map[string]context.CancelFunc{}, cancelled: map[string]bool{}})
	return r.(*importRuns)
}

// waitImports waits until the import runs started so far are over.
func (e *testEnv) waitImports() { e.svc.imports().wg.Wait() }

// holdImports makes the runs wait before they commit, until the returned release is called.
func (e *testEnv) holdImports() (release func()) {
	r := e.svc.imports()
	ch := make(chan struct{})
	r.mu.Lock()
	r.hold = ch
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.hold = nil
		r.mu.Unlock()
		close(ch)
	}
}

func (s *fakeService) importer() *importer.Importer {
	d := s.deals
	return &importer.Importer{Imports: d.(kamflow.ImportStore), Users: d.(kamflow.UserStore), Settings: s.settings, Service: s, Deals: d,
		Audit: d.(kamflow.AuditStore), Notifications: s.notes, Now: s.now, Poll: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func (s *fakeService) StartImport(ctx context.Context, importID, run string, by kamflow.Actor) error {
	r := s.imports()
	cctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.cancel[importID] = cancel
	delete(r.cancelled, importID)
	hold := r.hold
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		ctx := context.Background()
		i := s.importer()
		if ok, err := i.Await(ctx, importID, run, 5*time.Second, nil); err != nil || !ok {
			return
		}
		var in importer.FinishInput
		planned, err := i.Plan(ctx, importID, run, by)
		if err == nil && planned.Pending {
			if hold != nil {
				<-hold
			}
			for attempt := 1; ; attempt++ {
				if err = i.Commit(cctx, importID, by, nil); err == nil || cctx.Err() != nil || attempt == 5 || !importer.Retryable(err) {
					break
				}
			}
			if cctx.Err() != nil {
				err = nil
			}
		}
		if err != nil {
			in.Failure = importer.Stopped(err)
		}
		r.mu.Lock()
		in.Cancelled = r.cancelled[importID]
		delete(r.cancel, importID)
		r.mu.Unlock()
		if _, err := i.Finish(ctx, importID, run, by, in); err != nil {
			panic(err)
		}
	}()
	return nil
}

func (s *fakeService) CancelImport(ctx context.Context, importID string) error {
	r := s.imports()
	r.mu.Lock()
	defer r.mu.Unlock()
	cancel, ok := r.cancel[importID]
	if !ok {
		return kamflow.Errorf(kamflow.ECONFLICT, "import %s is not running", importID)
	}
	r.cancelled[importID] = true
	cancel()
	return nil
}
