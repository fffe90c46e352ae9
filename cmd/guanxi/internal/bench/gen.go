package bench

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Attribute columns the generated file carries; the bench declares them
// before importing.
const (
	attrCity   = "city"
	attrSpend  = "annual_spend"
	attrSource = "source"
)

// genHeader is the generated file's header: the import's columns, attribute
// columns last.
var genHeader = []string{
	"external_id", "type", "kind", "lifecycle_stage", "display_name", "email", "phone",
	"other_emails", "other_phones", "tags", "locale", "time_zone", "birthday", "owner_id", "team_id",
	"attributes." + attrCity, "attributes." + attrSpend, "attributes." + attrSource,
}

type syllable struct{ han, pinyin string }

var (
	surnames = []syllable{
		{"王", "wang"}, {"李", "li"}, {"张", "zhang"}, {"刘", "liu"}, {"陈", "chen"}, {"杨", "yang"},
		{"黄", "huang"}, {"赵", "zhao"}, {"吴", "wu"}, {"周", "zhou"}, {"徐", "xu"}, {"孙", "sun"},
		{"马", "ma"}, {"朱", "zhu"}, {"胡", "hu"}, {"郭", "guo"}, {"何", "he"}, {"林", "lin"},
		{"欧阳", "ouyang"}, {"司马", "sima"},
	}
	givenChars = []syllable{
		{"伟", "wei"}, {"芳", "fang"}, {"娜", "na"}, {"秀", "xiu"}, {"英", "ying"}, {"敏", "min"},
		{"静", "jing"}, {"丽", "li"}, {"强", "qiang"}, {"磊", "lei"}, {"军", "jun"}, {"洋", "yang"},
		{"勇", "yong"}, {"艳", "yan"}, {"杰", "jie"}, {"娟", "juan"}, {"涛", "tao"}, {"明", "ming"},
		{"超", "chao"}, {"霞", "xia"}, {"平", "ping"}, {"刚", "gang"}, {"小", "xiao"}, {"海", "hai"},
	}
	latinFirst = []string{"Ada", "Grace", "Alan", "Barbara", "Linus", "Margaret", "Dennis", "Frances", "Ken", "Radia", "Tim", "Sophie", "Lukas", "Emma", "Mateo", "Yuki"}
	latinLast  = []string{"Lovelace", "Hopper", "Turing", "Liskov", "Torvalds", "Hamilton", "Ritchie", "Allen", "Thompson", "Perlman", "Berners-Lee", "Wilson", "Müller", "Dubois", "García", "Tanaka"}
	cities     = []string{"杭州市", "上海市", "北京市", "深圳市", "广州市", "成都市", "南京市", "武汉市", "西安市", "苏州市", "宁波市", "Hong Kong", "Singapore"}
	orgWords   = []string{"恒通", "华信", "金鼎", "瑞丰", "宏达", "嘉禾", "新纪元", "东方", "Acme", "Globex", "Initech"}
	orgKinds   = []string{"贸易有限公司", "科技有限公司", "商贸行", "连锁超市", " Trading Ltd", " Distribution Co."}
	domains    = []string{"qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "example.cn", "sina.com"}
	tagPool    = []string{"vip", "批发", "华东", "华南", "newsletter", "回头客", "线上", "门店", "b2b", "展会"}
	sources    = []string{"门店", "天猫", "京东", "微信小程序", "展会", "referral", "website"}
	// Primary phones take these prefixes; other_phones take 166, which no
	// primary phone uses, so every number in the file is unique.
	mobilePrefixes = []string{"138", "139", "135", "136", "137", "150", "151", "152", "158", "159", "186", "187", "188", "189", "177", "199"}
)

// generator makes the rows of the bench file, the same for the same n.
type generator struct {
	rng *rand.Rand
	rec []string
	b   strings.Builder
}

func newGenerator() *generator {
	return &generator{rng: rand.New(rand.NewPCG(20240601, 7101)), rec: make([]string, len(genHeader))}
}

// pick returns one of xs.
func pick[T any](g *generator, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// weighted returns the index drawn with the given weights.
func (g *generator) weighted(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// phone is the i-th unique mobile number: the 8 digits after the prefix
// walk all 10^8 values in a scrambled order (7919 is coprime to 10^8).
func phone(prefix string, i int) string {
	return fmt.Sprintf("+86%s%08d", prefix, (int64(i)*7919+12345)%100_000_000)
}

// row fills g.rec with row i (from 0).
func (g *generator) row(i int) []string {
	r := g.rec
	for j := range r {
		r[j] = ""
	}
	r[0] = fmt.Sprintf("CRM-%08d", i+1)
	org := g.rng.IntN(100) < 15
	var local string
	if org {
		r[1] = "ORGANIZATION"
		r[2] = []string{"DISTRIBUTOR", "SUPPLIER", "PARTNER", "END_CUSTOMER"}[g.weighted(50, 20, 15, 15)]
		r[4] = strings.TrimSuffix(pick(g, cities), "市") + pick(g, orgWords) + pick(g, orgKinds)
		local = "info"
		r[10] = "zh-CN"
	} else {
		r[1] = "PERSON"
		r[2] = []string{"END_CUSTOMER", "PROSPECT", "DISTRIBUTOR", "PARTNER", "STAKEHOLDER"}[g.weighted(75, 15, 5, 3, 2)]
		if g.rng.IntN(100) < 75 {
			s := pick(g, surnames)
			g1 := pick(g, givenChars)
			name, py := s.han+g1.han, s.pinyin+"."+g1.pinyin
			if g.rng.IntN(2) == 0 {
				g2 := pick(g, givenChars)
				name, py = name+g2.han, py+g2.pinyin
			}
			r[4], local = name, py
			r[10] = "zh-CN"
		} else {
			first, last := pick(g, latinFirst), pick(g, latinLast)
			r[4], local = first+" "+last, strings.ToLower(first+"."+strings.ReplaceAll(last, "-", ""))
			r[10] = pick(g, []string{"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP"})
		}
		if n := g.rng.IntN(100); n < 60 {
			r[12] = fmt.Sprintf("%04d-%02d-%02d", 1950+g.rng.IntN(56), 1+g.rng.IntN(12), 1+g.rng.IntN(28))
		} else if n < 65 {
			r[12] = fmt.Sprintf("--%02d-%02d", 1+g.rng.IntN(12), 1+g.rng.IntN(28))
		}
	}
	r[3] = []string{"ACTIVE", "PROSPECT", "AT_RISK", "LAPSED", "WON_BACK"}[g.weighted(50, 20, 10, 15, 5)]
	if g.rng.IntN(100) < 95 {
		// The row number keeps every address unique.
		r[5] = fmt.Sprintf("%s.%d@%s", local, i+1, pick(g, domains))
	}
	r[6] = phone(mobilePrefixes[i%len(mobilePrefixes)], i)
	if g.rng.IntN(100) < 5 {
		r[8] = phone("166", i)
	}
	g.b.Reset()
	for range g.rng.IntN(4) {
		if g.b.Len() > 0 {
			g.b.WriteByte(';')
		}
		g.b.WriteString(pick(g, tagPool))
	}
	r[9] = g.b.String()
	if g.rng.IntN(100) < 90 {
		r[11] = "Asia/Shanghai"
	}
	r[13] = fmt.Sprintf("owner-%03d", g.rng.IntN(50))
	r[14] = fmt.Sprintf("team-%d", g.rng.IntN(5))
	r[15] = pick(g, cities)
	if g.rng.IntN(100) < 80 {
		r[16] = strconv.FormatFloat(float64(g.rng.IntN(10_000_000))/100, 'f', 2, 64)
	}
	r[17] = pick(g, sources)
	return r
}

// writeCSV writes n generated customers as a CSV file with a header.
func writeCSV(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := csv.NewWriter(bw)
	if err := cw.Write(genHeader); err != nil {
		return err
	}
	g := newGenerator()
	for i := range n {
		if err := cw.Write(g.row(i)); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
