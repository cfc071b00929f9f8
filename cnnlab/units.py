"""Human-readable numbers, shared by the CLI and the dashboard."""


def format_count(n: float) -> str:
    """12345678 -> '12.35M'; small numbers stay exact."""
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{n:.0f}"


def format_bytes(n: float) -> str:
    """Binary units: 1536 -> '1.5 KiB'."""
    n = float(n)
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def format_pair(pair: tuple | list) -> str:
    """'212' for a square pair, '11×7' otherwise; halves kept ('0.5')."""
    text = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in pair]
    return text[0] if text[0] == text[1] else "×".join(text)


def format_seconds(seconds: float) -> str:
    """0.42 -> '0.4 s', 83 -> '1 min 23 s'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
