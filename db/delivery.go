package db

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// The delivery projection (migration 0005): delivery_plans has each deal's plan as JSON, guarded by
// its Seq like the deals; service_visits has a row per service visit of a plan, written with the
// plan that holds it, so that the lists and the account's service report need not decode every
// plan.

var _ kamflow.DeliveryStore = (*DB)(nil)

// upsertDeliveryPlan writes a plan unless the stored one is as new or newer.
const upsertDeliveryPlan = `INSERT INTO delivery_plans (deal_id, seq, data, updated_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (deal_id) DO UPDATE SET seq = excluded.seq, data = excluded.data, updated_at = excluded.updated_at
WHERE delivery_plans.seq < excluded.seq`

// upsertServiceVisit writes a visit. The WHERE keeps a visit with the id of another deal's visit
// (which only a bug could make) from taking that visit over.
const upsertServiceVisit = `INSERT INTO service_visits (id, deal_id, account_id, site, round, due,
	assignee, status, faults_found, faults_unresolved, satisfaction, visited_on, reported_at,
	created_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	account_id = excluded.account_id, site = excluded.site, round = excluded.round, due = excluded.due,
	assignee = excluded.assignee, status = excluded.status, faults_found = excluded.faults_found,
	faults_unresolved = excluded.faults_unresolved, satisfaction = excluded.satisfaction,
	visited_on = excluded.visited_on, reported_at = excluded.reported_at,
	created_at = excluded.created_at, data = excluded.data
WHERE service_visits.deal_id = excluded.deal_id`

// visitRow is what a visit's row is written from.
type visitRow struct {
	v    *kamflow.ServiceVisit
	data string
}

// ProjectDelivery writes the plan and its visits in one transaction, unless the stored plan's seq
// is already at or past p.Seq: then nothing is written, so a retried or late projection rolls
// neither the plan nor its visits back. A plan's visits are only ever added to and reported, so
// the newest plan holds every visit in its latest state.
//
// A visit without a DealID or AccountID is taken to be the plan's (as Project does for an audit
// entry: a projection must not fail for good); a visit of another deal is invalid.
func (d *DB) ProjectDelivery(ctx context.Context, p *kamflow.DeliveryPlan, audit ...*kamflow.AuditEntry) error {
	if p == nil || p.DealID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "projection of a delivery plan without a deal id")
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("db: encode delivery plan of deal %s: %w", p.DealID, err)
	}
	var visits []visitRow
	for _, v := range p.Visits {
		if v == nil {
			continue
		}
		c := *v // the caller's visit stays as it is
		if c.DealID == "" {
			c.DealID = p.DealID
		}
		if c.AccountID == "" {
			c.AccountID = p.AccountID
		}
		if c.DealID != p.DealID {
			return kamflow.Errorf(kamflow.EINVALID, "service visit %q of deal %q projected with the plan of deal %q", c.ID, c.DealID, p.DealID)
		}
		if c.ID == "" {
			return kamflow.Errorf(kamflow.EINVALID, "service visit without an id in the plan of deal %q", p.DealID)
		}
		b, err := json.Marshal(&c)
		if err != nil {
			return fmt.Errorf("db: encode service visit %s: %w", c.ID, err)
		}
		visits = append(visits, visitRow{v: &c, data: string(b)})
	}
	return d.inTx(ctx, "project delivery plan of deal "+p.DealID, func(tx *gorm.DB) error {
		res := tx.Exec(upsertDeliveryPlan, p.DealID, p.Seq, string(data), ts(p.UpdatedAt))
		if res.Error != nil {
			return fmt.Errorf("db: project delivery plan of deal %s: %w", p.DealID, res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // the stored plan is as new or newer
		}
		if err := reindexTasks(tx, p.DealID); err != nil {
			return err
		}
		for _, r := range visits {
			if err := writeVisit(tx, r); err != nil {
				return err
			}
		}
		for _, e := range audit {
			if err := appendAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeVisit(tx *gorm.DB, r visitRow) error {
	v := r.v
	var (
		found, unresolved int
		satisfaction      string
		visitedOn         string
		reportedAt        any
	)
	if rep := v.Report; rep != nil {
		found, unresolved = rep.FaultsFound, rep.FaultsUnresolved
		satisfaction, visitedOn = string(rep.Satisfaction), string(rep.VisitedOn)
		reportedAt = nullTS(rep.ReportedAt)
	}
	err := tx.Exec(upsertServiceVisit, v.ID, v.DealID, v.AccountID, v.Site, v.Round, string(v.Due),
		v.Assignee, string(v.Status), found, unresolved, satisfaction, visitedOn, reportedAt,
		ts(v.CreatedAt), r.data).Error
	if err != nil {
		return fmt.Errorf("db: project service visit %s of deal %s: %w", v.ID, v.DealID, err)
	}
	return nil
}

// DeliveryPlan reads a deal's delivery plan; not_found when the deal has none.
func (d *DB) DeliveryPlan(ctx context.Context, dealID string) (*kamflow.DeliveryPlan, error) {
	var data []string
	if err := d.r.WithContext(ctx).Raw("SELECT data FROM delivery_plans WHERE deal_id = ?", dealID).Scan(&data).Error; err != nil {
		return nil, fmt.Errorf("db: read delivery plan of deal %s: %w", dealID, err)
	}
	if len(data) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %q has no delivery plan", dealID)
	}
	var p kamflow.DeliveryPlan
	if err := json.Unmarshal([]byte(data[0]), &p); err != nil {
		return nil, fmt.Errorf("db: decode delivery plan of deal %s: %w", dealID, err)
	}
	return &p, nil
}

// MaxVisits is the default and the most of the visits ServiceVisits lists at once.
const MaxVisits = 500

// ServiceVisits lists the visits f selects, the earliest due first (then by id). With a Viewer,
// only the visits of the deals the viewer may see: the condition of the deal lists
// (dealVisibleTo), on the visit's deal.
func (d *DB) ServiceVisits(ctx context.Context, f kamflow.VisitFilter) ([]kamflow.ServiceVisit, error) {
	var w where
	dealVisibleTo(&w, f.Viewer)
	join := ""
	if len(w.conds) > 0 {
		join = " JOIN deals ON deals.id = service_visits.deal_id"
	}
	if f.Assignee != "" {
		w.add("service_visits.assignee = ?", f.Assignee)
	}
	if f.AccountID != "" {
		w.add("service_visits.account_id = ?", f.AccountID)
	}
	if f.DealID != "" {
		w.add("service_visits.deal_id = ?", f.DealID)
	}
	if f.Status != "" {
		w.add("service_visits.status = ?", string(f.Status))
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxVisits {
		limit = MaxVisits
	}
	return d.visits(ctx, "SELECT service_visits.data FROM service_visits"+join+w.String()+
		" ORDER BY service_visits.due, service_visits.id LIMIT ?", append(w.args, limit)...)
}

// AccountServiceVisits lists every visit of an account, reported or not, the earliest due first,
// with no viewer's restriction and no limit: what kamflow.BuildServiceReport sums up. (The caller
// decides first whether its user may see the account.)
func (d *DB) AccountServiceVisits(ctx context.Context, accountID string) ([]kamflow.ServiceVisit, error) {
	return d.visits(ctx, "SELECT data FROM service_visits WHERE account_id = ? ORDER BY due, id", accountID)
}

// ServiceVisit reads one visit; not_found when there is none.
func (d *DB) ServiceVisit(ctx context.Context, id string) (*kamflow.ServiceVisit, error) {
	vs, err := d.visits(ctx, "SELECT data FROM service_visits WHERE id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "service visit %q not found", id)
	}
	return &vs[0], nil
}

// visits runs a query of visits' data and decodes them; never nil.
func (d *DB) visits(ctx context.Context, query string, args ...any) ([]kamflow.ServiceVisit, error) {
	var data []string
	if err := d.r.WithContext(ctx).Raw(query, args...).Scan(&data).Error; err != nil {
		return nil, fmt.Errorf("db: list service visits: %w", err)
	}
	out := make([]kamflow.ServiceVisit, len(data))
	for i, s := range data {
		if err := json.Unmarshal([]byte(s), &out[i]); err != nil {
			return nil, fmt.Errorf("db: decode service visit: %w", err)
		}
	}
	return out, nil
}
