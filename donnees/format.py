"""Mise en forme des nombres à la française : 12 345 m², 3,4 °C, 1 234 567 € (messages et vues)."""

from __future__ import annotations

import math

ESPACE_INSECABLE = "\u202f"


def formater_nombre(valeur: float | int | None, decimales: int = 0, unite: str | None = None) -> str:
    """Nombre au format français (espace fine insécable pour les milliers, virgule décimale)."""
    if valeur is None or (isinstance(valeur, float) and math.isnan(valeur)):
        texte = "—"
    else:
        texte = f"{valeur:,.{decimales}f}".replace(",", ESPACE_INSECABLE).replace(".", ",")
        if texte in {f"-0{',' + '0' * decimales if decimales else ''}"}:
            texte = texte[1:]
    return f"{texte}{ESPACE_INSECABLE}{unite}" if unite else texte


def formater_montant(montant: float | int | None) -> str:
    """Montant en euros : centimes seulement s'il y en a (« 1 200 € », « 1 200,50 € »)."""
    if montant is None or (isinstance(montant, float) and math.isnan(montant)):
        return formater_nombre(None)
    centimes = round(float(montant), 2) != round(float(montant))
    return formater_nombre(montant, 2 if centimes else 0, "€")


FUSEAU_AFFICHAGE = "Europe/Paris"  # horodatages stockés en UTC sans fuseau (donnees/magasin), lus en heure de Paris
JAMAIS = "jamais"


def formater_horodatage(valeur, vide: str = JAMAIS) -> str:
    """Horodatage UTC (sans fuseau = UTC) affiché en heure de Paris « 02/12/2026 05:38 » ; ``vide`` s'il manque."""
    import pandas as pd

    if valeur is None or (not isinstance(valeur, str) and pd.isna(valeur)) or valeur == "":
        return vide
    try:
        moment = pd.Timestamp(valeur)
    except (ValueError, TypeError):
        return str(valeur)
    if pd.isna(moment):
        return vide
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    return moment.tz_convert(FUSEAU_AFFICHAGE).strftime("%d/%m/%Y %H:%M")


def formater_date(valeur, vide: str = "—") -> str:
    """Date « 15/09/2024 » (jour, sans heure ni fuseau) ; ``vide`` si elle manque."""
    import pandas as pd

    if valeur is None or (not isinstance(valeur, str) and pd.isna(valeur)) or valeur == "":
        return vide
    try:
        return pd.Timestamp(valeur).strftime("%d/%m/%Y")
    except (ValueError, TypeError):
        return str(valeur)


def neutraliser_controles(texte, garder: str = "") -> str:
    """Texte affichable sans danger dans un terminal ou un message : chaque caractère de contrôle ou invisible
    (octet nul, échappement ANSI ``\\x1b``, retour chariot, direction du texte…) devient sa notation
    lisible ``\\xNN`` / ``\\uNNNN``, qui ne s'exécute pas ; sauf ceux de ``garder`` (ex. ``"\\n"``)."""
    import unicodedata

    texte = str(texte)
    return "".join(c if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp") or c in garder
                   else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in texte)
