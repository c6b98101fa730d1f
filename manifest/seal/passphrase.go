package seal

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// Passphrase returns a key's passphrase: the first line of file when one
// is given, else the environment variable env, else typed on the terminal
// after prompt (/dev/tty, so the prompt is seen even with stdin or stderr
// redirected), twice when the key is new. Without any of them it says
// what to give.
func Passphrase(file, env, prompt string, twice bool) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--passphrase-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimSuffix(line, "\r"); line == "" {
			return nil, fmt.Errorf("--passphrase-file %s: the first line is empty; a key is always encrypted", file)
		}
		return []byte(line), nil
	}
	if pw, ok := os.LookupEnv(env); ok {
		if pw == "" {
			return nil, fmt.Errorf("%s is empty: a key is always encrypted", env)
		}
		return []byte(pw), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		return nil, fmt.Errorf("no passphrase and no terminal to ask on: give --passphrase-file FILE or set %s", env)
	}
	defer tty.Close()
	read := func(p string) ([]byte, error) {
		fmt.Fprint(tty, p)
		pw, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return pw, err
	}
	pw, err := read(prompt)
	if err != nil {
		return nil, err
	}
	if twice {
		again, err := read("Same passphrase again: ")
		if err != nil {
			return nil, err
		}
		if string(pw) != string(again) {
			return nil, fmt.Errorf("the passphrases differ")
		}
	}
	if len(pw) == 0 {
		return nil, fmt.Errorf("empty passphrase: a key is always encrypted")
	}
	return pw, nil
}
