package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// listPage is how many objects List asks for at a time.
const listPage = 1000

// List reads a collection page by page. A page is {"Items": [...], "More",
// "NextCursor"} or a plain JSON array; the next page is asked with
// ?cursor= and the continuation token the server gave, in NextCursor or in
// a Link header (rel="next"). The token names where the page ended, so a
// pipeline that removes or changes what it has been given (Get-Mailbox
// -ResultSize Unlimited | Remove-Mailbox) still gets every object. From a
// server that answers More without a token, the next page is asked by
// ?offset=.
//
// Objects are handed to each as their page arrives, so that a pipeline
// (Get-Mailbox -ResultSize Unlimited | Set-CASMailbox) starts working
// before the last page is read.
func (c *Client) List(ctx context.Context, path string, q url.Values, limit int64, each func(*cmdlet.Object) error) error {
	tn := typeNameFor(path)
	q = cloneValues(q)
	var n, offset int64
	for {
		size := int64(listPage)
		if limit != cmdlet.Unlimited {
			size = min(size, limit-n)
		}
		q.Set("resultSize", strconv.FormatInt(size, 10))
		v, h, err := c.do(ctx, http.MethodGet, c.url(path, q), nil)
		if err != nil {
			return err
		}
		items, more, next, err := listAnswer(path, v, h)
		if err != nil {
			return err
		}
		for _, it := range items {
			o := setTypeName(it, tn)
			if o == nil {
				continue
			}
			n++
			if err := each(o); err != nil {
				return err
			}
			if limit != cmdlet.Unlimited && n >= limit {
				return nil
			}
		}
		switch {
		case len(items) == 0:
			return nil
		case next != "":
			q.Del("offset")
			q.Set("cursor", next)
		case more:
			offset += int64(len(items))
			q.Set("offset", strconv.FormatInt(offset, 10))
		default:
			return nil
		}
	}
}

// listAnswer reads one page: its objects, whether there are more, and
// the continuation token of the next page.
func listAnswer(path string, v any, h http.Header) (items []any, more bool, next string, err error) {
	switch x := v.(type) {
	case []any:
		items = x
	case *cmdlet.Object:
		arr, ok := x.Get("Items")
		if !ok {
			return nil, false, "", fmt.Errorf("the server's answer for %s is not a list", path)
		}
		items, _ = arr.([]any)
		if m, ok := x.Get("More"); ok {
			more, _ = m.(bool)
		}
		if nc, ok := x.Get("NextCursor"); ok && more {
			next, _ = nc.(string)
		}
	case nil:
	default:
		return nil, false, "", fmt.Errorf("the server's answer for %s is not a list", path)
	}
	if next == "" {
		next = linkCursor(h)
	}
	return items, more || next != "", next, nil
}

// linkCursor returns the cursor of the Link header's rel="next" URL.
func linkCursor(h http.Header) string {
	for _, l := range h.Values("Link") {
		for _, part := range strings.Split(l, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			isNext := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.EqualFold(strings.Trim(v, `"`), "next") {
					isNext = true
				}
			}
			if !isNext {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err == nil {
				if cur := u.Query().Get("cursor"); cur != "" {
					return cur
				}
			}
		}
	}
	return ""
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
