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
