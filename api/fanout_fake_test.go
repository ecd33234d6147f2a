package api_test

import (
	"context"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// TellSettings is the settings fan-out's workflow in process: the same steps as its activities
// (activities.Fanout), run in a goroutine in the workflow's order — wait a little for a version
// above the one before the version named, tell it a page at a time, and begin again with a newer
// version stored meanwhile. One fan-out runs at a time, as the one workflow does.
func (s *fakeService) TellSettings(ctx context.Context, version int64) error {
	if err := s.failure(); err != nil {
		return err
	}
	store, _ := s.settings.(kamflow.SettingsFanoutStore)
	f := &activities.Fanout{Settings: s.settings, Store: store, Deals: s, Poll: 5 * time.Millisecond}
	s.fanouts.Add(1)
	go func() {
		defer s.fanouts.Done()
		s.fanoutMu.Lock()
		defer s.fanoutMu.Unlock()
		ctx := context.Background()
		after := version - 1
		for {
			begun, err := f.BeginFanout(ctx, activities.FanoutBegin{After: after, Until: time.Now().Add(300 * time.Millisecond)})
			if err != nil || begun.Version == 0 || begun.Status != kamflow.FanoutRunning {
				return
			}
			for {
				res, err := f.TellFanoutPage(ctx, activities.FanoutPageInput{Version: begun.Version, PageSize: 3})
				if err != nil || res.Done || (res.Status != "" && res.Status != kamflow.FanoutSuperseded) {
					return
				}
				if res.Newer > 0 || res.Status == kamflow.FanoutSuperseded {
					after = begun.Version
					break
				}
			}
		}
	}()
	return nil
}

// awaitFanouts waits until every fan-out begun has ended.
func (s *fakeService) awaitFanouts() { s.fanouts.Wait() }
