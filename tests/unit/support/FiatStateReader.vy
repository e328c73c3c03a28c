# pragma version ~=0.4.3
"""
@title Test-only reader of a MockFiatToken's whole state in one call
@notice The differential test compares chain and model after every step;
        one eth_call here replaces a hundred, each of which costs the
        default network about 50 ms.
"""

interface IFiat:
    def owner() -> address: view
    def masterMinter() -> address: view
    def pauser() -> address: view
    def blacklister() -> address: view
    def paused() -> bool: view
    def totalSupply() -> uint256: view
    def balanceOf(account: address) -> uint256: view
    def isBlacklisted(account: address) -> bool: view
    def isMinter(account: address) -> bool: view
    def minterAllowance(minter: address) -> uint256: view
    def allowance(owner: address, spender: address) -> uint256: view

MAX_ACCOUNTS: constant(uint256) = 16


@external
@view
def read(token: IFiat, accounts: DynArray[address, MAX_ACCOUNTS]) -> (
        address, address, address, address, bool, uint256, DynArray[uint256, MAX_ACCOUNTS],
        DynArray[bool, MAX_ACCOUNTS], DynArray[bool, MAX_ACCOUNTS], DynArray[uint256, MAX_ACCOUNTS],
        DynArray[uint256, MAX_ACCOUNTS * MAX_ACCOUNTS]):
    """
    @notice Roles, pause, supply, and per account its balance, blacklist
            flag, minter flag and minter allowance, then every allowance
            between the accounts (owner-major).
    @param token The token.
    @param accounts The accounts.
    @return address owner.
    @return address masterMinter.
    @return address pauser.
    @return address blacklister.
    @return bool paused.
    @return uint256 totalSupply.
    @return DynArray balances.
    @return DynArray blacklist flags.
    @return DynArray minter flags.
    @return DynArray minter allowances.
    @return DynArray allowances, accounts[i] to accounts[j] at i * len + j.
    """
    balances: DynArray[uint256, MAX_ACCOUNTS] = []
    blacklisted: DynArray[bool, MAX_ACCOUNTS] = []
    minters: DynArray[bool, MAX_ACCOUNTS] = []
    minter_allowances: DynArray[uint256, MAX_ACCOUNTS] = []
    allowances: DynArray[uint256, MAX_ACCOUNTS * MAX_ACCOUNTS] = []
    for a: address in accounts:
        balances.append(staticcall token.balanceOf(a))
        blacklisted.append(staticcall token.isBlacklisted(a))
        minters.append(staticcall token.isMinter(a))
        minter_allowances.append(staticcall token.minterAllowance(a))
        for b: address in accounts:
            allowances.append(staticcall token.allowance(a, b))
    return (staticcall token.owner(), staticcall token.masterMinter(), staticcall token.pauser(),
            staticcall token.blacklister(), staticcall token.paused(), staticcall token.totalSupply(),
            balances, blacklisted, minters, minter_allowances, allowances)
