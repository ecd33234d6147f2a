package api

import (
	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// Contacts in and out: the people at the team's accounts (contact.go), as the account's page
// lists them.

// contactsImport reports whether contacts can be imported and exported: always, now that the
// contact store is there. (It stays a switch for a store without contacts.)
func (s *Server) contactsImport() bool { return s.cfg.Imports != nil }

var contactHeads = []head{{"id", "编号"}, {"account_id", "客户编号"}, {"account", "客户名称"}, {"name", "姓名"},
	{"title", "职务"}, {"department", "部门"}, {"role", "角色"}, {"stance", "态度"}, {"influence", "影响力"},
	{"relationship", "关系"}, {"phone", "电话"}, {"email", "邮箱"}, {"notes", "备注"}, {"reports_to", "上级"},
	{"last_contact_at", "最近联系"}, {"created_at", "创建时间"}, {"updated_at", "更新时间"}}

// Chinese names of roles and stances in exports: the ones imports read back.
var (
	roleZH = map[kamflow.Role]string{
		kamflow.RoleDecisionMaker: "决策者", kamflow.RoleInfluencer: "影响者", kamflow.RoleUser: "使用者",
		kamflow.RoleTechnicalEvaluator: "技术评估者", kamflow.RolePurchaser: "采购者", kamflow.RoleExecutor: "执行者",
		kamflow.RoleInsider: "内线",
	}
	stanceZH = map[kamflow.Stance]string{kamflow.StanceSupporter: "支持", kamflow.StanceNeutral: "中立", kamflow.StanceOpponent: "反对"}
)

// exportContacts answers the contacts of the accounts the user may see, with their account's
// name.
func (s *Server) exportContacts(c echo.Context, f sheet.Format, name string, zh bool) error {
	ctx := c.Request().Context()
	me := s.actor(c)
	names := map[string]string{}
	err := s.cfg.Imports.ExportAccounts(ctx, &me, func(a *kamflow.Account) error {
		names[a.ID] = a.Name
		return nil
	})
	if err != nil {
		return err
	}
	rating := func(n int) any { // 0 is unknown: an empty cell
		if n == 0 {
			return nil
		}
		return n
	}
	return s.spreadsheet(c, f, name, "contacts", func(w sheet.Writer) error {
		if err := w.Write(pickHeads(zh, contactHeads)...); err != nil {
			return err
		}
		return s.cfg.Imports.ExportContacts(ctx, &me, func(ct *kamflow.Contact) error {
			role, stance := string(ct.Role), string(ct.Stance)
			if zh {
				role, stance = roleZH[ct.Role], stanceZH[ct.Stance]
			}
			var last any
			if ct.LastContactAt != nil {
				last = *ct.LastContactAt
			}
			return w.Write(ct.ID, ct.AccountID, names[ct.AccountID], ct.Name, ct.Title, ct.Department, role, stance,
				rating(ct.Influence), rating(ct.Relationship), ct.Phone, ct.Email, ct.Notes, ct.ReportsTo, last, ct.CreatedAt, ct.UpdatedAt)
		})
	})
}
