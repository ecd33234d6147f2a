package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// Spreadsheets out: the exports of everything a user may see, the import templates and an
// import's rejected rows, as CSV (UTF-8 with a byte-order mark, text guarded against formula
// injection) or XLSX (amounts and dates as typed cells). Column heads are the import's, in
// English or (lang=zh-CN) Chinese, so that an export imports again as it is: a dry run of it
// reports every row as already present.

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// spreadsheetFormat reads the format query parameter: csv (the default) or xlsx.
func spreadsheetFormat(c echo.Context) (sheet.Format, error) {
	f, ok := sheet.ParseFormat(c.QueryParam("format"))
	if !ok {
		return "", kamflow.Errorf(kamflow.EINVALID, "format must be csv or xlsx").WithDetail("field", "format")
	}
	return f, nil
}

// lazyResponse commits the response (status and headers) only when the first byte is written,
// so that an error before it is still answered with the error's status and JSON.
type lazyResponse struct {
	c       echo.Context
	f       sheet.Format
	name    string
	started bool
}

func (l *lazyResponse) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		h := l.c.Response().Header()
		ctype := "text/csv; charset=utf-8"
		if l.f == sheet.XLSX {
			ctype = xlsxType
		}
		h.Set(echo.HeaderContentType, ctype)
		h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, l.name, l.f))
		l.c.Response().WriteHeader(http.StatusOK)
	}
	return l.c.Response().Write(p)
}

// spreadsheet answers a file named name in format f, its rows written by fill as they come.
func (s *Server) spreadsheet(c echo.Context, f sheet.Format, name, sheetName string, fill func(w sheet.Writer) error) error {
	out := &lazyResponse{c: c, f: f, name: name}
	w, err := sheet.NewWriter(out, f, sheetName)
	if err == nil {
		err = fill(w)
	}
	if err == nil {
		err = w.Close()
	} else if w != nil {
		w.Close()
	}
	if err != nil && out.started {
		// Part of the file is out: the status cannot change any more. The client gets a cut file
		// (a CSV without its last rows, a broken XLSX) and the server's log says why.
		s.log(c).Error("writing a spreadsheet", "path", c.Path(), "err", err)
		return nil
	}
	return err
}

// head is a column head in English and Chinese.
type head struct{ en, zh string }

func pickHeads(zh bool, hs []head) []any {
	out := make([]any, len(hs))
	for i, h := range hs {
		out[i] = h.en
		if zh {
			out[i] = h.zh
		}
	}
	return out
}

// Chinese names of stages and statuses in exports: the ones imports read back.
var (
	stageFullZH = map[kamflow.Stage]string{
		kamflow.Development: "开发阶段", kamflow.Entry: "销售进入阶段", kamflow.Proposal: "提案阶段",
		kamflow.Bid: "投标阶段", kamflow.Negotiation: "商务谈判阶段", kamflow.Delivery: "工程实施阶段",
	}
	statusFullZH = map[kamflow.Status]string{
		kamflow.StatusOpen: "进行中", kamflow.StatusWon: "赢单", kamflow.StatusLost: "丢单",
		kamflow.StatusWithdrawn: "撤出", kamflow.StatusAbandoned: "放弃", kamflow.StatusDelivered: "已交付",
	}
)

var accountHeads = []head{{"id", "编号"}, {"name", "客户名称"}, {"industry", "行业"}, {"region", "地区"}, {"address", "地址"},
	{"owner", "负责人"}, {"team_id", "团队"}, {"notes", "备注"}, {"created_at", "创建时间"}, {"updated_at", "更新时间"}}

var dealHeads = []head{{"id", "编号"}, {"account_id", "客户编号"}, {"account", "客户名称"}, {"title", "商机名称"},
	{"value", "金额"}, {"currency", "币种"}, {"expected_close", "预计成交日期"}, {"owner", "负责人"}, {"stage", "阶段"},
	{"status", "状态"}, {"grade", "等级"}, {"win_probability", "赢单率"}, {"stalled", "停滞"}, {"forced", "强推"},
	{"imported", "导入"}, {"team_id", "团队"}, {"created_at", "创建时间"}, {"updated_at", "更新时间"}}

// export answers everything of a kind the user may see: the accounts and deals of the lists.
func (s *Server) export(c echo.Context) error {
	kind, err := kamflow.ParseImportKind(c.Param("kind"))
	if err != nil {
		return kamflow.Errorf(kamflow.ENOTFOUND, "no export of %q (accounts, contacts or deals)", c.Param("kind"))
	}
	if kind == kamflow.ImportContacts && !s.contactsImport() {
		return kamflow.Errorf(kamflow.ENOTFOUND, "contacts cannot be exported yet")
	}
	f, err := spreadsheetFormat(c)
	if err != nil {
		return err
	}
	zh := wantsChinese(c)
	me := s.actor(c)
	ctx := c.Request().Context()
	name := fmt.Sprintf("kamflow-%s-%s", kind, kamflow.DateOf(s.cfg.Now().UTC()))
	switch kind {
	case kamflow.ImportAccounts:
		return s.spreadsheet(c, f, name, string(kind), func(w sheet.Writer) error {
			if err := w.Write(pickHeads(zh, accountHeads)...); err != nil {
				return err
			}
			return s.cfg.Imports.ExportAccounts(ctx, &me, func(a *kamflow.Account) error {
				return w.Write(a.ID, a.Name, a.Industry, a.Region, a.Address, a.Owner, a.TeamID, a.Notes, a.CreatedAt, a.UpdatedAt)
			})
		})
	case kamflow.ImportContacts:
		return s.exportContacts(c, f, name, zh)
	}
	// The deals name their accounts: the accounts the user may see (those of the deals).
	names := map[string]string{}
	err = s.cfg.Imports.ExportAccounts(ctx, &me, func(a *kamflow.Account) error {
		names[a.ID] = a.Name
		return nil
	})
	if err != nil {
		return err
	}
	if listExport(c) {
		// The deals of a board's or list view's filters, in its order (views.go).
		return s.exportList(c, f, name, zh, names)
	}
	return s.spreadsheet(c, f, name, string(kind), func(w sheet.Writer) error {
		if err := w.Write(pickHeads(zh, dealHeads)...); err != nil {
			return err
		}
		return s.cfg.Imports.ExportDeals(ctx, &me, func(d *kamflow.Deal) error {
			return w.Write(dealCells(d, names, zh)...)
		})
	})
}

// dealCells is a deal's row under dealHeads, its account named from names.
func dealCells(d *kamflow.Deal, names map[string]string, zh bool) []any {
	stage, status := string(d.Stage), string(d.Status)
	if zh {
		stage, status = stageFullZH[d.Stage], statusFullZH[d.Status]
	}
	imported := ""
	if d.Imported != nil {
		imported = string(d.Imported.Stage)
		if zh {
			imported = stageFullZH[d.Imported.Stage]
		}
	}
	return []any{d.ID, d.AccountID, names[d.AccountID], d.Title, sheet.Money(d.Value), d.Currency,
		sheet.Date(d.ExpectedClose), d.Owner, stage, status, string(d.Grade()), d.WinProbability().Value,
		d.Stalled, d.Forced, imported, d.TeamID, d.CreatedAt, d.UpdatedAt}
}

// importTemplate answers an empty file of a kind with its column heads, the required ones
// marked with *.
func (s *Server) importTemplate(c echo.Context) error {
	kind, err := kamflow.ParseImportKind(c.QueryParam("kind"))
	if err != nil {
		return err
	}
	f, err := spreadsheetFormat(c)
	if err != nil {
		return err
	}
	heads := kamflow.Template(kind, wantsChinese(c))
	return s.spreadsheet(c, f, "kamflow-"+string(kind)+"-template", string(kind), func(w sheet.Writer) error {
		cells := make([]any, len(heads))
		for i, h := range heads {
			cells[i] = h
		}
		return w.Write(cells...)
	})
}

// rejectedRows answers an import's rejected rows (and those a cancelled run did not import) as a
// file: each row's line and reasons first, then its cells as they were in the file, under the
// file's own heads. Corrected, the file imports as it is: the two added columns are ignored.
func (s *Server) rejectedRows(c echo.Context) error {
	imp, err := s.visibleImport(c)
	if err != nil {
		return err
	}
	f, err := spreadsheetFormat(c)
	if err != nil {
		return err
	}
	zh := wantsChinese(c)
	first := []any{"import_line", "import_errors"}
	if zh {
		first = []any{"导入行号", "导入问题"}
	}
	name := "kamflow-import-" + safeName(imp.ID) + "-rejected"
	return s.spreadsheet(c, f, name, "rejected", func(w sheet.Writer) error {
		hs := first
		for _, col := range imp.Columns {
			hs = append(hs, col.Column)
		}
		if err := w.Write(hs...); err != nil {
			return err
		}
		return s.cfg.Imports.ImportRows(c.Request().Context(), imp.ID, "", func(r kamflow.ImportRow) error {
			if r.Outcome != kamflow.OutcomeRejected && r.Outcome != kamflow.OutcomeNotImported {
				return nil
			}
			cells := make([]any, 0, 2+len(r.Cells))
			cells = append(cells, r.Line, r.Reason())
			for _, v := range r.Cells {
				cells = append(cells, v)
			}
			return w.Write(cells...)
		})
	})
}

// safeName keeps the letters, digits and dashes of an ID for a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}
