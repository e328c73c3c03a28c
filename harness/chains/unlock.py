"""Unlocking an ape keystore account for a command that signs on its own.

One rule for every command that sends transactions (deploy, keeper, set-price): the
passphrase comes from APE_ACCOUNTS_<alias>_PASSPHRASE (ape's own
variable, the alias spelt as it is) when that is set, else from the
terminal's prompt; with neither, the account stays locked. It then signs
every transaction without asking (ape's autosign). Without this ape asks "Sign:" per transaction, which an
unattended keeper cannot answer, and ape's own failures surface as a bare
`Aborted!` (click's, when the prompt reads end of file) or a traceback
(a wrong passphrase). Here each becomes an UnlockError whose message is
one line saying what to do.
"""


class UnlockError(Exception):
    """The account could not be unlocked; str() is the line to print."""


def passphrase_variable(alias: str) -> str:
    # ape reads exactly this name (ape_accounts.KeyfileAccount.unlock).
    return f"APE_ACCOUNTS_{alias}_PASSPHRASE"


def unlock_for_autosign(account) -> None:
    """Unlock `account` and let it sign unattended, or raise UnlockError.

    Accounts with no passphrase (ape's test accounts) pass untouched."""
    if not hasattr(account, "set_autosign"):
        return
    import os
    import sys

    import click
    from ape.exceptions import AccountsError

    alias = account.alias
    variable = passphrase_variable(alias)
    if not os.environ.get(variable) and not sys.stdin.isatty():
        # ape would prompt anyway: getpass then warns that it cannot hide
        # the input and reads a pipe or end of file in its place.
        raise UnlockError(f"account {alias!r} is locked and no passphrase was given: "
                          f"set {variable} or run from a terminal")
    try:
        account.set_autosign(True)
    except click.exceptions.Abort:
        # Ctrl-C or end of file at the terminal's prompt.
        raise UnlockError(f"account {alias!r} not unlocked: the passphrase prompt was cancelled") from None
    except AccountsError:
        # InvalidPasswordError (ape tries the variable once) or ape giving
        # up after three prompts; both are AccountsError.
        source = f"from {variable}" if os.environ.get(variable) else "at the prompt, 3 times"
        raise UnlockError(f"wrong passphrase for account {alias!r} ({source})") from None


def load_account(alias: str):
    """An ape account by alias, or ape's test account N for "TEST::N"
    (the public test mnemonic's: devnets only); a missing alias is a
    usage error that says how to add one."""
    import click
    from ape import accounts

    if alias.upper().startswith("TEST::"):
        return accounts.test_accounts[int(alias.split("::", 1)[1])]
    try:
        return accounts.load(alias)
    except Exception:
        raise click.UsageError(f"no ape account {alias!r}. `ape accounts list` shows yours; "
                               f"`ape accounts import {alias}` adds one from a private key or mnemonic.")
