package importfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/importfile"
)

const benchRows = 20000

// benchCSV is a file shaped like a real customer export: mixed Chinese and
// Latin names, contacts, tags and two attributes.
func benchCSV() []byte {
	surnames := []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵"}
	given := []string{"小明", "秀英", "伟", "静", "海燕", "志强", "丽娟", "建国"}
	latin := []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov"}
	kinds := []string{"END_CUSTOMER", "DISTRIBUTOR", "PROSPECT", ""}
	tags := []string{"vip", "批发;华东", "", "newsletter;vip;回头客"}
	cities := []string{"杭州市", "上海市", "北京市", "深圳市", ""}
	var b bytes.Buffer
	b.WriteString("external_id,kind,display_name,email,phone,tags,birthday,attributes.city,attributes.spend\n")
	for i := range benchRows {
		name := surnames[i%len(surnames)] + given[(i/8)%len(given)]
		if i%5 == 0 {
			name = latin[i%len(latin)]
		}
		fmt.Fprintf(&b, "CRM-%08d,%s,%s,user%d@example.com,+86138%08d,%s,19%02d-%02d-%02d,%s,%d.%02d\n",
			i, kinds[i%len(kinds)], name, i, i, tags[i%len(tags)], 50+i%50, 1+i%12, 1+i%28, cities[i%len(cities)], i%10000, i%100)
	}
	return b.Bytes()
}

// benchNDJSON is benchCSV's rows as protojson lines.
func benchNDJSON(b *testing.B, csvFile []byte) []byte {
	rd, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_CSV, bytes.NewReader(csvFile), benchAttrs)
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out.Bytes()
		}
		if err != nil || row.Err != nil {
			b.Fatal(err, row.Err)
		}
		line, err := protojson.Marshal(row.Customer)
		if err != nil {
			b.Fatal(err)
		}
		out.Write(line)
		out.WriteByte('\n')
	}
}

func benchAttrs(name string) (customerv1.AttributeType, bool) {
	switch name {
	case "city":
		return customerv1.AttributeType_ATTRIBUTE_TYPE_STRING, true
	case "spend":
		return customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER, true
	}
	return 0, false
}

func benchmarkRead(b *testing.B, format customerv1.ImportFormat, file []byte) {
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		rd, err := importfile.NewReader(format, bytes.NewReader(file), benchAttrs)
		if err != nil {
			b.Fatal(err)
		}
		for {
			row, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || row.Err != nil {
				b.Fatal(err, row.Err)
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSV(b *testing.B) {
	benchmarkRead(b, customerv1.ImportFormat_IMPORT_FORMAT_CSV, benchCSV())
}

func BenchmarkNDJSON(b *testing.B) {
	benchmarkRead(b, customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, benchNDJSON(b, benchCSV()))
}
