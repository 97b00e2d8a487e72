// Package codeonly shows its use in a code block of its package doc:
//
//	codeonly.Use()
package codeonly
