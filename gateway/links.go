package gateway

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
)

// linkPages are the small HTML pages behind the links customers get in
// messages: unsubscribe (with RFC 8058 one-click) and the survey answer
// form. They carry no token: each link's signature is its credential,
// checked by the service the page calls.
type linkPages struct {
	notification notificationv1.NotificationServiceClient
	interaction  interactionv1.InteractionServiceClient
	logger       *slog.Logger
}

// maxLinkForm caps what a link page reads of a request body: a token, a
// score and a comment.
const maxLinkForm = 64 << 10

// registerLinkPages adds the pages to mux.
func registerLinkPages(mux *http.ServeMux, backends backendSet, logger *slog.Logger) {
	p := &linkPages{
		notification: notificationv1.NewNotificationServiceClient(backends.conn("notification")),
		interaction:  interactionv1.NewInteractionServiceClient(backends.conn("interaction")),
		logger:       logger,
	}
	mux.HandleFunc("GET /unsubscribe", p.unsubscribeForm)
	mux.HandleFunc("POST /unsubscribe", p.unsubscribe)
	mux.HandleFunc("GET /survey", p.surveyForm)
	mux.HandleFunc("POST /survey", p.answerSurvey)
}

// unsubscribeForm asks before opting out: mail scanners follow links, and
// a GET must change nothing.
func (p *linkPages) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	lang := pageLanguage(r, r.URL.Query().Get("lang"))
	token := r.URL.Query().Get("token")
	if token == "" {
		p.page(w, http.StatusBadRequest, lang, pageData{Title: text(lang, "unsubTitle"), Message: text(lang, "badLink")})
		return
	}
	p.page(w, http.StatusOK, lang, pageData{Title: text(lang, "unsubTitle"), Message: text(lang, "unsubAsk"),
		Action: "/unsubscribe", Token: token, Button: text(lang, "unsubButton")})
}

// unsubscribe records the opt-out: from the confirmation page's form, a
// mail client's RFC 8058 one-click POST (token in the link's query, body
// "List-Unsubscribe=One-Click"), or a JSON {"token": ...}.
func (p *linkPages) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLinkForm)
	asJSON := isJSON(r)
	token, lang := r.URL.Query().Get("token"), r.URL.Query().Get("lang")
	if asJSON {
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": codes.InvalidArgument, "message": "body: not a JSON object with a token"})
			return
		}
		if body.Token != "" {
			token = body.Token
		}
	} else if err := r.ParseForm(); err == nil {
		if v := r.PostForm.Get("token"); v != "" {
			token = v
		}
		if v := r.PostForm.Get("lang"); v != "" {
			lang = v
		}
	}
	lang = pageLanguage(r, lang)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	_, err := p.notification.Unsubscribe(ctx, &notificationv1.UnsubscribeRequest{Token: token})
	code := p.statusOf(r, err)
	if asJSON {
		if err != nil {
			writeJSON(w, code, map[string]any{"code": status.Code(err), "message": text(lang, messageKey(code))})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"unsubscribed": true})
		return
	}
	if err != nil {
		p.page(w, code, lang, pageData{Title: text(lang, "unsubTitle"), Message: text(lang, messageKey(code))})
		return
	}
	p.page(w, http.StatusOK, lang, pageData{Title: text(lang, "unsubTitle"), Message: text(lang, "unsubDone")})
}

// surveyForm shows the survey a link names, with its scale.
func (p *linkPages) surveyForm(w http.ResponseWriter, r *http.Request) {
	lang := pageLanguage(r, r.URL.Query().Get("lang"))
	token := r.URL.Query().Get("token")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	resp, err := p.interaction.GetSurveyByLink(ctx, &interactionv1.GetSurveyByLinkRequest{Token: token})
	if err != nil {
		code := p.statusOf(r, err)
		p.page(w, code, lang, pageData{Title: text(lang, "surveyTitle"), Message: text(lang, messageKey(code))})
		return
	}
	sv := resp.GetSurvey()
	if sv.GetAnswered() {
		p.page(w, http.StatusOK, lang, pageData{Title: text(lang, "surveyTitle"), Message: text(lang, "surveyAlready")})
		return
	}
	p.page(w, http.StatusOK, lang, surveyPage(lang, token, sv.GetKind()))
}

// answerSurvey records the answer posted by the survey form.
func (p *linkPages) answerSurvey(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLinkForm)
	lang := pageLanguage(r, r.URL.Query().Get("lang"))
	if err := r.ParseForm(); err != nil {
		p.page(w, http.StatusBadRequest, lang, pageData{Title: text(lang, "surveyTitle"), Message: text(lang, "badForm")})
		return
	}
	if v := r.PostForm.Get("lang"); v != "" {
		lang = pageLanguage(r, v)
	}
	score, err := strconv.Atoi(r.PostForm.Get("score"))
	if err != nil {
		p.page(w, http.StatusBadRequest, lang, pageData{Title: text(lang, "surveyTitle"), Message: text(lang, "badScore")})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	_, err = p.interaction.AnswerSurveyByLink(ctx, &interactionv1.AnswerSurveyByLinkRequest{
		Token: r.PostForm.Get("token"), Score: int32(score), Comment: r.PostForm.Get("comment")})
	if err != nil {
		code := p.statusOf(r, err)
		p.page(w, code, lang, pageData{Title: text(lang, "surveyTitle"), Message: text(lang, messageKey(code))})
		return
	}
	p.page(w, http.StatusOK, lang, pageData{Title: text(lang, "surveyTitle"), Message: text(lang, "surveyThanks")})
}

// statusOf maps a service's answer to the page's HTTP status; anything
// but the customer's own mistake is logged, and never shown.
func (p *linkPages) statusOf(r *http.Request, err error) int {
	switch status.Code(err) {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.FailedPrecondition, codes.AlreadyExists:
		return http.StatusConflict
	}
	p.logger.WarnContext(r.Context(), "link page: service call failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	return http.StatusServiceUnavailable
}

func messageKey(code int) string {
	switch code {
	case http.StatusOK:
		return "unsubDone"
	case http.StatusBadRequest:
		return "badLink"
	case http.StatusNotFound:
		return "notFound"
	case http.StatusConflict:
		return "surveyAlready"
	}
	return "unavailable"
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// pageLanguage is "zh-CN" or "en": the link's own lang (the customer's
// locale when the message was written), else the browser's preference,
// else Chinese, the default market's language.
func pageLanguage(r *http.Request, lang string) string {
	if l := matchLanguage(lang); l != "" {
		return l
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := matchLanguage(tag); l != "" && q > 0 {
			prefs = append(prefs, pref{l, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) > 0 {
		return prefs[0].lang
	}
	return "zh-CN"
}

func matchLanguage(tag string) string {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "zh" || strings.HasPrefix(t, "zh-") || strings.HasPrefix(t, "zh_"):
		return "zh-CN"
	case t == "en" || strings.HasPrefix(t, "en-") || strings.HasPrefix(t, "en_"):
		return "en"
	}
	return ""
}

var pageTexts = map[string]map[string]string{
	"zh-CN": {
		"unsubTitle": "退订", "unsubAsk": "确定不再通过此渠道接收我们的消息吗？", "unsubButton": "确认退订",
		"unsubDone": "您已退订，此渠道将不再收到我们的营销消息。", "badLink": "链接无效或已损坏。",
		"notFound": "找不到此链接对应的内容。", "unavailable": "服务暂时不可用，请稍后再试。",
		"surveyTitle": "服务评价", "surveyAsk": "您对我们的服务满意吗？", "surveyComment": "意见或建议（可选）",
		"surveyButton": "提交", "surveyThanks": "感谢您的评价！", "surveyAlready": "此问卷已经回答过了，感谢您！",
		"badForm": "提交的内容无法读取。", "badScore": "请选择一个分数。",
		"csatLow": "非常不满意", "csatHigh": "非常满意", "npsLow": "不可能推荐", "npsHigh": "非常愿意推荐",
		"npsAsk": "您有多大可能向朋友推荐我们？",
	},
	"en": {
		"unsubTitle": "Unsubscribe", "unsubAsk": "Stop receiving our messages on this channel?", "unsubButton": "Unsubscribe",
		"unsubDone": "You are unsubscribed: no more marketing messages on this channel.", "badLink": "This link is invalid or damaged.",
		"notFound": "Nothing was found for this link.", "unavailable": "The service is unavailable; please try again later.",
		"surveyTitle": "How did we do?", "surveyAsk": "How satisfied are you with our service?", "surveyComment": "Comments (optional)",
		"surveyButton": "Send", "surveyThanks": "Thank you for your answer!", "surveyAlready": "This survey was already answered. Thank you!",
		"badForm": "The form could not be read.", "badScore": "Please choose a score.",
		"csatLow": "very unhappy", "csatHigh": "very happy", "npsLow": "not likely", "npsHigh": "very likely",
		"npsAsk": "How likely are you to recommend us to a friend?",
	},
}

func text(lang, key string) string { return pageTexts[lang][key] }

// pageData fills linkPage; a page with an Action has a form.
type pageData struct {
	Lang, Title, Message string
	Action, Token        string
	Scores               []int
	Low, High            string
	Comment, Button      string
}

func surveyPage(lang, token string, kind interactionv1.SurveyKind) pageData {
	d := pageData{Title: text(lang, "surveyTitle"), Message: text(lang, "surveyAsk"), Action: "/survey", Token: token,
		Low: text(lang, "csatLow"), High: text(lang, "csatHigh"), Comment: text(lang, "surveyComment"), Button: text(lang, "surveyButton")}
	lo, hi := 1, 5
	if kind == interactionv1.SurveyKind_SURVEY_KIND_NPS {
		lo, hi = 0, 10
		d.Message, d.Low, d.High = text(lang, "npsAsk"), text(lang, "npsLow"), text(lang, "npsHigh")
	}
	for s := lo; s <= hi; s++ {
		d.Scores = append(d.Scores, s)
	}
	return d
}

// linkPage is every link page: html/template escapes what it inserts.
var linkPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}button{font-size:1em;padding:.5em 1.5em}label{margin-right:.6em}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .Action}}<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}"><input type="hidden" name="lang" value="{{.Lang}}">
{{if .Scores}}<p>{{.Low}} {{range .Scores}}<label><input type="radio" name="score" value="{{.}}" required> {{.}}</label>{{end}} {{.High}}</p>
<p><label>{{.Comment}}<br><textarea name="comment" rows="4" cols="40" maxlength="2000"></textarea></label></p>{{end}}
<button type="submit">{{.Button}}</button></form>{{end}}
</body></html>
`))

func (p *linkPages) page(w http.ResponseWriter, code int, lang string, d pageData) {
	d.Lang = lang
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(code)
	if err := linkPage.Execute(w, d); err != nil {
		p.logger.Warn("link page: render failed", slog.Any("error", err))
	}
}
