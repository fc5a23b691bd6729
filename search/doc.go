// Package search implements MLflow's search language for runs and
// experiments as Python MLflow 3.18's SearchUtils and SearchExperimentsUtils
// evaluate it against the file store: the filter grammar (a sqlparse-shaped
// lexer, AND-ed clauses, MLflow's value-type and comparator rules), order_by
// clauses with MLflow's defaults and tie-breaks, and page tokens.
//
// The package is pure: it parses strings and evaluates them against
// entities values handed to it. It never touches the filesystem; package
// filestore decides which files a query needs (Filter.Keys) and feeds the
// runs in. Errors are *Error values that unwrap to errs.ErrInvalidParameter
// and carry the byte position of the problem.
//
// Where MLflow only notices a problem while evaluating a clause against a
// run (a comparator the key kind does not allow, say), this package rejects
// it when parsing, so a query is refused even when no run would have
// reached that clause.
package search
