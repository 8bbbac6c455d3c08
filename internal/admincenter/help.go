package admincenter

import "net/http"

// shortcut is one row of the keyboard shortcuts page.
type shortcut struct{ Keys, Action string }

// shortcuts are the admin center's keys, after the classic Exchange admin
// center's (Ctrl+F6 cycles the regions) plus "/" for search.
var shortcuts = []shortcut{
	{"Ctrl+F6", "Move to the next region: feature pane, tabs, toolbar, list, details pane."},
	{"Ctrl+Shift+F6", "Move to the previous region."},
	{"/", "Move to the search box of the list."},
	{"?", "Show these keyboard shortcuts (outside a text box and a dialog)."},
	{"Up Arrow, Down Arrow", "Move to the previous or next mailbox in the list and select it."},
	{"Home, End", "Move to the first or last mailbox on the page."},
	{"Shift+Up Arrow, Shift+Down Arrow", "Extend the selection (several mailboxes open Bulk Edit)."},
	{"Space", "Select or clear the mailbox that has the focus, keeping the others."},
	{"Enter", "Open Edit for the selected mailbox."},
	{"Delete", "Delete the selected mailbox (asks for confirmation)."},
	{"Ctrl+A", "Select every mailbox on the page; the bar above the list then offers every mailbox that matches the search."},
	{"Enter, Space or Down Arrow on More options (...)", "Open the toolbar's menu on its first item (Up Arrow: on its last); in the menu, Up Arrow, Down Arrow, Home and End move, Esc closes it."},
	{"Esc", "Close the dialog or panel without saving (Cancel)."},
	{"Tab, Shift+Tab", "Move between the controls of a region or dialog."},
	{"Enter or Space on a link or button", "Activate it: Enable, Disable, Save, OK, Cancel."},
}

// keyboardHelp lists the keyboard shortcuts.
func (c *Center) keyboardHelp(w http.ResponseWriter, r *http.Request, s *session) error {
	page := c.newPage(w, r, s, "Keyboard shortcuts", "help", "keyboard")
	page.Data = shortcuts
	c.render(w, r, http.StatusOK, "keyboard", page)
	return nil
}
