package main

import "fmt"

func checkCompose(r *Report, path string, settings Settings) {
	r.problem("%s: not checked yet", path)
	_ = fmt.Sprint(settings)
}
