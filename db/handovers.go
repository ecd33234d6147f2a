package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.HandoverStore = (*DB)(nil)

// handoverRow is a row of account_handovers.
type handoverRow struct {
	ID         string
	AccountID  string
	FromOwner  string
	ToOwner    string
	Reason     string
	ByUser     string
	At         time.Time
	Status     string
	Message    string
	Total      int
	Done       int
	Refused    int
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// handoverDealRow is a row of account_handover_deals with its deal's title.
type handoverDealRow struct {
	DealID  string
	Title   string
	Status  string
	Code    string
	Message string
}

const handoverColumns = `SELECT id, account_id, from_owner, to_owner, reason, by_user, at, status, message,
	total, done, refused, updated_at, finished_at FROM account_handovers`

// readHandover reads a handover's record with its deals, in q (a transaction or the reader);
// not_found when there is none.
func readHandover(q *gorm.DB, where string, args ...any) (*kamflow.HandoverRecord, error) {
	var rows []handoverRow
	if err := q.Raw(handoverColumns+" WHERE "+where+" ORDER BY at DESC, id DESC LIMIT 1", args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read a handover: %w", err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "no such handover")
	}
	r := rows[0]
	out := &kamflow.HandoverRecord{ID: r.ID, AccountID: r.AccountID, From: r.FromOwner, To: r.ToOwner, Reason: r.Reason,
		By: r.ByUser, At: utc(r.At), Status: kamflow.HandoverStatus(r.Status), Message: r.Message, Total: r.Total,
		Done: r.Done, Refused: r.Refused, UpdatedAt: utc(r.UpdatedAt), Deals: []kamflow.HandoverDeal{}}
	if r.FinishedAt != nil {
		t := utc(*r.FinishedAt)
		out.FinishedAt = &t
	}
	var deals []handoverDealRow
	err := q.Raw(`SELECT h.deal_id, COALESCE(d.title, '') AS title, h.status, h.code, h.message
		FROM account_handover_deals h LEFT JOIN deals d ON d.id = h.deal_id
		WHERE h.handover_id = ? ORDER BY h.position`, r.ID).Scan(&deals).Error
	if err != nil {
		return nil, fmt.Errorf("db: read the deals of handover %s: %w", r.ID, err)
	}
	for _, d := range deals {
		out.Deals = append(out.Deals, kamflow.HandoverDeal{DealID: d.DealID, Title: d.Title,
			Status: kamflow.HandoverDealStatus(d.Status), Code: d.Code, Message: d.Message})
	}
	return out, nil
}

// RecordHandover records h: see kamflow.HandoverStore. The account row is locked first, so that
// two records of handovers of the same account (which the workflow ID keeps apart anyway) are
// taken one after the other.
func (d *DB) RecordHandover(ctx context.Context, h kamflow.Handover) (*kamflow.HandoverRecord, error) {
	if h.ID == "" || h.To == "" || h.To == h.From {
		return nil, kamflow.Errorf(kamflow.EINVALID, "hand the account over to another KAM").WithDetail("field", "owner")
	}
	var out *kamflow.HandoverRecord
	err := d.inTx(ctx, "record handover "+h.ID, func(tx *gorm.DB) error {
		var owners []string
		if err := tx.Raw("SELECT owner FROM accounts WHERE id = ?"+d.forUpdate(), h.AccountID).Scan(&owners).Error; err != nil {
			return fmt.Errorf("db: read account %s: %w", h.AccountID, err)
		}
		if len(owners) == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", h.AccountID)
		}
		rec, err := readHandover(tx, "id = ?", h.ID)
		if err == nil {
			out = rec // recorded already: a retry
			return nil
		} else if kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			return err
		}
		insert := func(status kamflow.HandoverStatus, message string, total int) error {
			var finished any
			if status.Finished() {
				finished = ts(h.At)
			}
			err := tx.Exec(`INSERT INTO account_handovers (id, account_id, from_owner, to_owner, reason, by_user, at,
				status, message, total, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				h.ID, h.AccountID, h.From, h.To, h.Reason, h.By, ts(h.At), string(status), message, total, ts(h.At), finished).Error
			if err != nil {
				return fmt.Errorf("db: record handover %s: %w", h.ID, err)
			}
			return nil
		}
		if owners[0] != h.From {
			if err := insert(kamflow.HandoverConflict, fmt.Sprintf("the account's owner changed meanwhile: %s owns it now", owners[0]), 0); err != nil {
				return err
			}
		} else {
			if err := tx.Exec("UPDATE accounts SET owner = ?, updated_at = ?, version = version + 1, updated_by = ? WHERE id = ?",
				h.To, ts(h.At), h.By, h.AccountID).Error; err != nil {
				return fmt.Errorf("db: hand over account %s: %w", h.AccountID, err)
			}
			deals := []string{}
			err := tx.Raw("SELECT id FROM deals WHERE account_id = ? AND owner = ? AND "+activeStatuses+" ORDER BY created_at, id",
				h.AccountID, h.From).Scan(&deals).Error
			if err != nil {
				return fmt.Errorf("db: read the deals of account %s: %w", h.AccountID, err)
			}
			if deals == nil {
				deals = []string{}
			}
			if err := appendAudit(tx, kamflow.HandoverAudit(h, deals)); err != nil {
				return err
			}
			status := kamflow.HandoverRunning
			if len(deals) == 0 {
				status = kamflow.HandoverDone
			}
			if err := insert(status, "", len(deals)); err != nil {
				return err
			}
			for i, id := range deals {
				err := tx.Exec(`INSERT INTO account_handover_deals (handover_id, deal_id, position, status, updated_at)
					VALUES (?, ?, ?, ?, ?)`, h.ID, id, i, string(kamflow.HandoverDealPending), ts(h.At)).Error
				if err != nil {
					return fmt.Errorf("db: record deal %s of handover %s: %w", id, h.ID, err)
				}
			}
		}
		out, err = readHandover(tx, "id = ?", h.ID)
		return err
	})
	return out, err
}

// FinishHandoverDeal records how a deal of a handover ended and counts it: see
// kamflow.HandoverStore. The handover's row is locked first, so that the deals finishing at once
// count one after the other and the last one ends the handover.
func (d *DB) FinishHandoverDeal(ctx context.Context, handoverID string, hd kamflow.HandoverDeal, at time.Time) (*kamflow.HandoverRecord, error) {
	column := map[kamflow.HandoverDealStatus]string{kamflow.HandoverDealDone: "done", kamflow.HandoverDealRefused: "refused"}[hd.Status]
	if column == "" {
		return nil, kamflow.Errorf(kamflow.EINVALID, "a deal of a handover ends done or refused, not %q", hd.Status)
	}
	var out *kamflow.HandoverRecord
	err := d.inTx(ctx, "finish deal "+hd.DealID+" of handover "+handoverID, func(tx *gorm.DB) error {
		var ids []string
		if err := tx.Raw("SELECT id FROM account_handovers WHERE id = ?"+d.forUpdate(), handoverID).Scan(&ids).Error; err != nil {
			return fmt.Errorf("db: read handover %s: %w", handoverID, err)
		}
		if len(ids) == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "handover %q not found", handoverID)
		}
		res := tx.Exec(`UPDATE account_handover_deals SET status = ?, code = ?, message = ?, updated_at = ?
			WHERE handover_id = ? AND deal_id = ? AND status = ?`,
			string(hd.Status), hd.Code, hd.Message, ts(at), handoverID, hd.DealID, string(kamflow.HandoverDealPending))
		if res.Error != nil {
			return fmt.Errorf("db: finish deal %s of handover %s: %w", hd.DealID, handoverID, res.Error)
		}
		if res.RowsAffected == 1 { // else ended already (a retry) or not a deal of the handover
			err := tx.Exec("UPDATE account_handovers SET "+column+" = "+column+" + 1, updated_at = ? WHERE id = ?", ts(at), handoverID).Error
			if err != nil {
				return fmt.Errorf("db: count deal %s of handover %s: %w", hd.DealID, handoverID, err)
			}
			err = tx.Exec(`UPDATE account_handovers SET finished_at = ?,
				status = CASE WHEN refused > 0 THEN ? ELSE ? END
				WHERE id = ? AND status = ? AND done + refused >= total`,
				ts(at), string(kamflow.HandoverDoneWithRefusals), string(kamflow.HandoverDone), handoverID, string(kamflow.HandoverRunning)).Error
			if err != nil {
				return fmt.Errorf("db: end handover %s: %w", handoverID, err)
			}
		}
		var err error
		out, err = readHandover(tx, "id = ?", handoverID)
		return err
	})
	return out, err
}

// Handover returns a handover's record.
func (d *DB) Handover(ctx context.Context, id string) (*kamflow.HandoverRecord, error) {
	out, err := readHandover(d.r.WithContext(ctx), "id = ?", id)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "handover %q not found", id)
	}
	return out, err
}

// LatestHandover returns the account's latest handover.
func (d *DB) LatestHandover(ctx context.Context, accountID string) (*kamflow.HandoverRecord, error) {
	out, err := readHandover(d.r.WithContext(ctx), "account_id = ?", accountID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "account %q has no handover", accountID)
	}
	return out, err
}
