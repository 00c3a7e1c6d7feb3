"""Textes Markdown de l'annuaire et de « Qui l'a fait avant moi ? » : texte des membres échappé (jamais interprété),
liens ``mailto:`` et ``tel:`` seulement pour les coordonnées que le membre a rendues visibles."""

from __future__ import annotations

import re
from urllib.parse import quote

from donnees.nomenclatures import ROLES
from vues.format import echapper_markdown

CHIFFRES_TELEPHONE = re.compile(r"[^0-9+]")


def lien_courriel(email) -> str | None:
    """Lien Markdown ``mailto:`` vers une adresse rendue visible (None sinon) ; libellé échappé, adresse encodée."""
    if not isinstance(email, str) or "@" not in email:
        return None
    return f"[{echapper_markdown(email)}](mailto:{quote(email, safe='@.+-_')})"


def lien_telephone(telephone) -> str | None:
    """Lien Markdown ``tel:`` vers un téléphone professionnel rendu visible (None sinon) : chiffres et « + » seuls
    dans l'adresse du lien."""
    if not isinstance(telephone, str) or not telephone.strip():
        return None
    return f"[{echapper_markdown(telephone)}](tel:{CHIFFRES_TELEPHONE.sub('', telephone)})"


def decrire_membre(fiche: dict, noms_communes: dict[str, str]) -> str:
    """« **Nom** · Référent commune · Sète, Mèze » (tout texte de membre échappé)."""
    communes = ", ".join(noms_communes.get(c, c) for c in fiche.get("communes") or [])
    morceaux = [f"**{echapper_markdown(fiche['nom'])}**", echapper_markdown(ROLES.get(fiche["role"], fiche["role"])),
                echapper_markdown(communes)]
    return " · ".join(m for m in morceaux if m)


def decrire_coordonnees(fiche: dict) -> str:
    """Fonction, courriel et téléphone consentis, séparés par « · » (vide s'il n'y en a pas)."""
    morceaux = [echapper_markdown(fiche.get("fonction")) if fiche.get("fonction") else None,
                lien_courriel(fiche.get("email")), lien_telephone(fiche.get("telephone"))]
    return " · ".join(m for m in morceaux if m)


def decrire_sujets(codes, sujets: dict[str, str]) -> str:
    """Libellés des sujets de compétence, séparés par des virgules."""
    return echapper_markdown(", ".join(sujets.get(c, c) for c in codes or []))
