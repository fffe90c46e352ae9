package suite_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// page fetches a link page without any credential, as a customer's
// browser or mail client does, and returns its status and body.
func page(t *testing.T, method, link, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, link, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// onEdge is link's path and query on the REST edge at base (the suite
// listens on new ports after a restart; the link's token is what counts).
func onEdge(t *testing.T, base, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return base + u.RequestURI()
}

const formType = "application/x-www-form-urlencoded"

// TestUnsubscribeLinkPages follows the unsubscribe link of a message: a GET
// shows a confirmation page in the customer's language (or the browser's),
// a form POST, a JSON POST and an RFC 8058 one-click POST record the
// opt-out, a tampered token is refused with 400, and a link sent before a
// restart of the suite still works after it.
func TestUnsubscribeLinkPages(t *testing.T) {
	dir := t.TempDir()
	e, stop := startSuite(t, dir)
	defer func() { stop() }() // the suite restarts below
	api := adminClient(t, e)
	api.mustDo("POST", "/v1/templates", `{"kind":"suite_news","channel":"CHANNEL_EMAIL","locale":"en","subject":"News",`+
		`"body":"{{name}}, news! Unsubscribe: {{unsubscribe_url}}"}`)
	api.mustDo("POST", "/v1/templates", `{"kind":"suite_news","channel":"CHANNEL_EMAIL","locale":"zh-CN","subject":"新闻",`+
		`"body":"{{name}}，新消息！Unsubscribe: {{unsubscribe_url}}"}`)
	linkOf := func(customerID string) string {
		preview := api.mustDo("POST", "/v1/templates:preview", `{"kind":"suite_news","channel":"CHANNEL_EMAIL","customerId":"`+customerID+`"}`)
		_, link, ok := strings.Cut(fmt.Sprint(preview["body"]), "Unsubscribe: ")
		if !ok {
			t.Fatalf("no link in %v", preview)
		}
		return link
	}
	optedOut := func(customerID string) bool {
		consents, _ := api.mustDo("GET", "/v1/customers/"+customerID, "")["consents"].([]any)
		for _, c := range consents {
			m := c.(map[string]any)
			if m["channel"] == "CONSENT_CHANNEL_EMAIL" && m["status"] == "CONSENT_STATUS_OPTED_OUT" && m["source"] == "unsubscribe-link" {
				return true
			}
		}
		return false
	}
	ann := api.mustDo("POST", "/v1/customers", `{"displayName":"Ann","email":"ann@example.com","locale":"en"}`)["id"].(string)
	li := api.mustDo("POST", "/v1/customers", `{"displayName":"李雷","email":"lilei@example.com","locale":"zh-CN"}`)["id"].(string)
	bob := api.mustDo("POST", "/v1/customers", `{"displayName":"Bob","email":"bob@example.com","locale":"en"}`)["id"].(string)
	var annLink, liLink, bobLink string
	testinfra.Eventually(t, 20*time.Second, "the notification service knows the customers", func() bool {
		code, _ := api.do("POST", "/v1/templates:preview", `{"kind":"suite_news","channel":"CHANNEL_EMAIL","customerId":"`+bob+`"}`)
		return code == http.StatusOK
	})
	annLink, liLink, bobLink = linkOf(ann), linkOf(li), linkOf(bob)
	if !strings.HasPrefix(annLink, e.HTTP+"/unsubscribe?token=") || !strings.HasSuffix(liLink, "&lang=zh-CN") {
		t.Fatalf("links %q, %q", annLink, liLink)
	}

	// GET: a confirmation page, changing nothing, in the link's language.
	code, body := page(t, "GET", annLink, "", "")
	if code != http.StatusOK || !strings.Contains(body, `<form method="post" action="/unsubscribe">`) ||
		!strings.Contains(body, `<button type="submit">Unsubscribe</button>`) || !strings.Contains(body, `name="token" value="`) {
		t.Errorf("GET unsubscribe page: %d %s", code, body)
	}
	if code, body := page(t, "GET", liLink, "", ""); code != http.StatusOK || !strings.Contains(body, "确认退订") || !strings.Contains(body, `lang="zh-CN"`) {
		t.Errorf("GET the Chinese customer's page: %d %s", code, body)
	}
	noLang := strings.Split(annLink, "&lang=")[0]
	if _, body := page(t, "GET", noLang, "", "", "Accept-Language", "fr;q=0.9, zh-CN;q=0.8, en;q=0.5"); !strings.Contains(body, "确认退订") {
		t.Errorf("the browser prefers Chinese to English, the page says %s", body)
	}
	if _, body := page(t, "GET", e.HTTP+"/unsubscribe?lang=en&token="+url.QueryEscape(`"><script>alert(1)</script>`), "", ""); strings.Contains(body, "<script>") ||
		!strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("the token is not escaped: %s", body)
	}
	if optedOut(ann) {
		t.Fatal("a GET opted the customer out")
	}

	// Tampered: 400, nothing recorded.
	token := regexp.MustCompile(`token=([^&]+)`).FindStringSubmatch(annLink)[1]
	tampered := token[:len(token)-3] + "AAA"
	if code, _ := page(t, "POST", e.HTTP+"/unsubscribe", formType, "token="+tampered); code != http.StatusBadRequest {
		t.Errorf("tampered token: %d, want 400", code)
	}

	// The page's form.
	if code, body := page(t, "POST", e.HTTP+"/unsubscribe", formType, "token="+token+"&lang=en"); code != http.StatusOK || !strings.Contains(body, "You are unsubscribed") {
		t.Errorf("form POST: %d %s", code, body)
	}
	// JSON.
	liToken := regexp.MustCompile(`token=([^&]+)`).FindStringSubmatch(liLink)[1]
	if code, body := page(t, "POST", e.HTTP+"/unsubscribe", "application/json", `{"token":"`+liToken+`"}`); code != http.StatusOK || !strings.Contains(body, `"unsubscribed":true`) {
		t.Errorf("JSON POST: %d %s", code, body)
	}
	testinfra.Eventually(t, 20*time.Second, "the opt-outs recorded", func() bool { return optedOut(ann) && optedOut(li) })

	// The suite restarts: Bob's link, sent before, still works, by a mail
	// client's one-click POST (RFC 8058) to the link itself.
	stop()
	e, stop = startSuite(t, dir)
	api = adminClient(t, e)
	if code, body := page(t, "POST", onEdge(t, e.HTTP, bobLink), formType, "List-Unsubscribe=One-Click"); code != http.StatusOK {
		t.Fatalf("one-click POST after a restart: %d %s", code, body)
	}
	testinfra.Eventually(t, 20*time.Second, "the one-click opt-out recorded", func() bool { return optedOut(bob) })
}

// TestSurveyLinkPage answers the survey of a resolved case from the link in
// the invitation the customer got: the link leads to the suite's own form,
// a POST records the answer (visible through the API), and a tampered
// token is refused with 400, never 500.
func TestSurveyLinkPage(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	id := api.mustDo("POST", "/v1/customers", `{"displayName":"韩梅梅","email":"meimei@example.com","locale":"zh-CN"}`)["id"].(string)
	c := api.mustDo("POST", "/v1/cases", `{"customerId":"`+id+`","subject":"退款","assigneeId":"agent-he","teamId":"billing"}`)
	surveyID := api.mustDo("POST", "/v1/cases/"+c["id"].(string)+":resolve", `{"resolution":"已退款"}`)["surveyId"].(string)

	var link string
	linkRE := regexp.MustCompile(`https?://[^\s]+/survey\?token=[A-Za-z0-9_.\-]+`)
	testinfra.Eventually(t, 20*time.Second, "the survey invitation", func() bool {
		msgs, _ := api.mustDo("GET", "/v1/customers/"+id+"/messages", "")["messages"].([]any)
		for _, m := range msgs {
			m := m.(map[string]any)
			if m["template"] == "survey_invitation" {
				link = linkRE.FindString(fmt.Sprint(m["body"]))
				return true
			}
		}
		return false
	})
	if !strings.HasPrefix(link, e.HTTP+"/survey?token=") {
		t.Fatalf("survey link %q, want one on the suite's edge %s", link, e.HTTP)
	}

	code, body := page(t, "GET", link, "", "", "Accept-Language", "zh-CN")
	if code != http.StatusOK || !strings.Contains(body, `<form method="post" action="/survey">`) ||
		!strings.Contains(body, `name="score" value="1"`) || !strings.Contains(body, `name="score" value="5"`) || strings.Contains(body, `value="6"`) ||
		!strings.Contains(body, "服务评价") {
		t.Errorf("GET survey page: %d %s", code, body)
	}
	token := strings.TrimPrefix(link, e.HTTP+"/survey?token=")
	tampered := token[:len(token)-3] + "AAA"
	if code, _ := page(t, "GET", e.HTTP+"/survey?token="+tampered, "", ""); code != http.StatusBadRequest {
		t.Errorf("GET with a tampered token: %d, want 400", code)
	}
	if code, _ := page(t, "POST", e.HTTP+"/survey", formType, "score=5&token="+tampered); code != http.StatusBadRequest {
		t.Errorf("POST with a tampered token: %d, want 400", code)
	}
	if code, _ := page(t, "POST", e.HTTP+"/survey", formType, "score=9&token="+token); code != http.StatusBadRequest {
		t.Errorf("CSAT 9: %d, want 400", code)
	}
	if code, body := page(t, "POST", e.HTTP+"/survey", formType, "score=5&lang=zh-CN&comment="+url.QueryEscape("处理得很快")+"&token="+token); code != http.StatusOK ||
		!strings.Contains(body, "感谢您的评价") {
		t.Fatalf("POST the answer: %d %s", code, body)
	}
	sv := api.mustDo("GET", "/v1/surveys/"+surveyID, "")
	if sv["answered"] != true || sv["score"] != float64(5) || sv["comment"] != "处理得很快" {
		t.Errorf("survey after the answer = %v", sv)
	}
	if code, _ := page(t, "POST", e.HTTP+"/survey", formType, "score=1&token="+token); code != http.StatusConflict {
		t.Errorf("a second answer: %d, want 409", code)
	}
}
