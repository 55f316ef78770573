// Command flux-cel evaluates Flux kustomize-controller health check expressions
// (spec.healthCheckExprs) the way kustomize-controller does, so docs/gitops.md's expressions are
// tested (tests/e2e/test_gitops_health.py) against the same objects as the Argo CD health check.
//
// Input on stdin: {"current": "...", "inProgress": "...", "failed": "...", "objects": [...]}.
// Output: one line per object, "InProgress", "Failed", "Current" or "Error: <message>".
//
// The environment mirrors fluxcd/pkg/runtime/cel as of Flux v2.5+: expressions are parsed, not
// type-checked, with the optional-types and strings/sets/encoders extensions; the object's
// top-level fields are the variables. The order is RFC-0009's: a status.observedGeneration that
// differs from metadata.generation means InProgress before any expression runs; then inProgress,
// failed and current in that order, the first true one wins; none true means InProgress.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

type input struct {
	Current    string           `json:"current"`
	InProgress string           `json:"inProgress"`
	Failed     string           `json:"failed"`
	Objects    []map[string]any `json:"objects"`
}

func program(env *cel.Env, expression string) (cel.Program, error) {
	if expression == "" {
		return nil, nil
	}
	ast, issues := env.Parse(expression)
	if issues != nil && issues.Err() != nil {
		return nil, fmt.Errorf("parsing %q: %w", expression, issues.Err())
	}
	return env.Program(ast)
}

func evaluate(programs []cel.Program, names []string, object map[string]any) string {
	if status, ok := object["status"].(map[string]any); ok {
		if observed, ok := status["observedGeneration"].(float64); ok {
			metadata, _ := object["metadata"].(map[string]any)
			if generation, ok := metadata["generation"].(float64); ok && generation != observed {
				return "InProgress"
			}
		}
	}
	for index, prg := range programs {
		if prg == nil {
			continue
		}
		value, _, err := prg.Eval(object)
		if err != nil {
			return "Error: " + err.Error()
		}
		result, ok := value.(types.Bool)
		if !ok {
			return "Error: not a boolean"
		}
		if result {
			return names[index]
		}
	}
	return "InProgress"
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "reading input:", err)
		os.Exit(2)
	}
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "environment:", err)
		os.Exit(2)
	}
	if in.Current == "" {
		fmt.Fprintln(os.Stderr, "current is required")
		os.Exit(2)
	}
	names := []string{"InProgress", "Failed", "Current"}
	programs := make([]cel.Program, 0, 3)
	for _, expression := range []string{in.InProgress, in.Failed, in.Current} {
		prg, err := program(env, expression)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		programs = append(programs, prg)
	}
	for _, object := range in.Objects {
		fmt.Println(evaluate(programs, names, object))
	}
}
