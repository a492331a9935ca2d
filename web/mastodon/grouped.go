package mastodon

import (
	"net/http"
	"slices"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// NotificationGroup is Mastodon's grouped notification (API v2).
type NotificationGroup struct {
	GroupKey                 string   `json:"group_key"`
	NotificationsCount       int      `json:"notifications_count"`
	Type                     string   `json:"type"`
	MostRecentNotificationID string   `json:"most_recent_notification_id"`
	PageMinID                string   `json:"page_min_id"`
	PageMaxID                string   `json:"page_max_id"`
	LatestPageNotificationAt string   `json:"latest_page_notification_at"`
	SampleAccountIDs         []string `json:"sample_account_ids"`
	StatusID                 *string  `json:"status_id"`
}

// groupable are the types Mastodon groups: likes and boosts of one
// status, and follows.
var groupable = []string{storage.NotifyFavourite, storage.NotifyReblog, storage.NotifyFollow}

func groupKey(n *storage.Notification) string {
	switch {
	case !slices.Contains(groupable, n.Type):
		return "ungrouped-" + n.ID.String()
	case n.Type == storage.NotifyFollow:
		return "follow-" + n.CreatedAt.UTC().Format("2006-01-02")
	}
	return n.Type + "-" + n.StatusID.String()
}

// groupedNotifications serves GET /api/v2/notifications: a page of
// notifications folded into groups, with the accounts and statuses they
// refer to listed once.
func (h *handler) groupedNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ascending, err := page(q, 40, 80)
	p.Ascending = ascending
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	types, exclude := list(q, "types"), list(q, "exclude_types")
	me := viewer(r)
	rd := h.renderer(me)
	groups := []NotificationGroup{}
	accounts := []Account{}
	statuses := []Status{}
	var newest, oldest storage.ID
	err = h.store.View(func(tx *storage.Tx) error {
		if err := rd.inContext(tx, "notifications"); err != nil {
			return err
		}
		ns, err := tx.Notifications(me.ID, p, func(n *storage.Notification) bool {
			muted, _ := tx.Mutes(me.ID, n.FromID)
			return (len(types) == 0 || slices.Contains(types, n.Type)) && !slices.Contains(exclude, n.Type) && !muted
		}, maxNotificationScan)
		if err != nil {
			return err
		}
		index := map[string]int{}
		seenAccounts, seenStatuses := map[storage.ID]bool{}, map[storage.ID]bool{}
		for _, n := range ns {
			if newest == 0 {
				newest = n.ID
			}
			oldest = n.ID
			from, err := tx.Account(n.FromID)
			if err != nil {
				continue
			}
			var status *storage.Status
			if n.StatusID != 0 {
				s, err := tx.Status(n.StatusID)
				if err != nil || !activitypub.VisibleTo(tx, s, me) {
					continue
				}
				if _, hide := rd.matchFilters(tx, s); hide {
					continue
				}
				status = s
			}
			key := groupKey(n)
			i, ok := index[key]
			if !ok {
				i = len(groups)
				index[key] = i
				g := NotificationGroup{GroupKey: key, Type: n.Type, MostRecentNotificationID: n.ID.String(),
					PageMaxID: n.ID.String(), LatestPageNotificationAt: formatTime(n.CreatedAt), SampleAccountIDs: []string{}}
				if status != nil {
					g.StatusID = optionalID(status.ID)
				}
				groups = append(groups, g)
			}
			g := &groups[i]
			g.NotificationsCount++
			g.PageMinID = n.ID.String()
			if len(g.SampleAccountIDs) < 8 && !slices.Contains(g.SampleAccountIDs, from.ID.String()) {
				g.SampleAccountIDs = append(g.SampleAccountIDs, from.ID.String())
			}
			if !seenAccounts[from.ID] {
				seenAccounts[from.ID] = true
				accounts = append(accounts, rd.account(from))
			}
			if status != nil && !seenStatuses[status.ID] {
				seenStatuses[status.ID] = true
				st, err := rd.status(tx, status)
				if err != nil {
					return err
				}
				statuses = append(statuses, st)
			}
		}
		return nil
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	linkHeader(w, r, h.in.BaseURL(), newest, oldest)
	respond.JSON(w, http.StatusOK, map[string]any{"accounts": accounts, "statuses": statuses, "notification_groups": groups})
}
