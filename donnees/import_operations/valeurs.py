"""Analyse des valeurs des cellules : textes, nombres, dates, années, booléens, financements."""

from __future__ import annotations

import calendar
import math
import numbers
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from donnees.format import formater_montant, formater_nombre

ANNEE_MIN, ANNEE_MAX = 1950, 2100


_MOTS_VIDES = {"de", "des", "du", "d", "la", "le", "les", "l", "en", "a", "au", "aux", "par", "pour",
               "un", "une", "et", "of", "the"}
# ------------------------------------------------------------------------------------- outils


def _normaliser(texte: Any) -> str:
    """Texte comparable : minuscules, sans accents, parenthèses, ponctuation ni mots vides."""
    if texte is None:
        return ""
    texte = str(texte).replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    texte = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode("ascii").lower()
    texte = re.sub(r"\([^)]*\)", " ", texte)
    mots = [m for m in re.findall(r"[a-z0-9]+", texte) if m not in _MOTS_VIDES]
    return "_".join(mots)


def _est_vide(valeur: Any) -> bool:
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return True
    if isinstance(valeur, (float, np.floating)) and math.isnan(valeur):
        return True
    if isinstance(valeur, str) and not valeur.strip():
        return True
    try:
        return bool(pd.isna(valeur)) if np.ndim(valeur) == 0 and not isinstance(valeur, str) else False
    except (TypeError, ValueError):
        return False


_euros = formater_montant  # nom court des messages d'import (donnees.format, une seule règle)


def _m2(surface: float) -> str:
    return formater_nombre(surface, 0 if surface >= 10 else 2, "m²")


class _Probleme(Exception):
    """Valeur illisible ou hors domaine (message français déjà rédigé)."""


# ------------------------------------------------------------------------------- valeurs


def _texte(valeur: Any) -> str | None:
    if _est_vide(valeur):
        return None
    if isinstance(valeur, float) and valeur.is_integer():
        valeur = int(valeur)
    if isinstance(valeur, datetime):
        return valeur.date().isoformat() if valeur.time() == datetime.min.time() else valeur.isoformat()
    if isinstance(valeur, date):
        return valeur.isoformat()
    return str(valeur).strip()


def _nombre(valeur: Any) -> float | None:
    if _est_vide(valeur):
        return None
    if isinstance(valeur, (bool, np.bool_)):
        raise _Probleme(f"nombre attendu (reçu « {valeur} »)")
    if isinstance(valeur, numbers.Real):
        nombre = float(valeur)
    else:
        texte = str(valeur).strip().replace("\u202f", " ").replace("\xa0", " ")
        texte = re.sub(r"(?i)\s*(€|eur|euros|m²|m2|m³|m3|ht|ttc)\.?\s*$", "", texte)
        texte = re.sub(r"(?i)\s*(€|eur|euros|m²|m2|m³|m3|ht|ttc)\.?\s*$", "", texte)
        compact = texte.replace(" ", "").replace("'", "")
        if "," in compact and "." in compact:
            if compact.rfind(",") > compact.rfind("."):
                compact = compact.replace(".", "").replace(",", ".")
            else:
                compact = compact.replace(",", "")
        elif compact.count(",") == 1:
            compact = compact.replace(",", ".")
        elif compact.count(",") > 1:
            compact = compact.replace(",", "")
        elif compact.count(".") > 1:
            compact = compact.replace(".", "")
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", compact, flags=re.IGNORECASE):
            raise _Probleme(f"« {valeur} » n'est pas un nombre (ex. 12500 ou 12 500,50)")
        nombre = float(compact)
    if not math.isfinite(nombre):
        raise _Probleme(f"« {valeur} » n'est pas un nombre fini")
    return nombre


def _positif(valeur: Any, quoi: str) -> float | None:
    nombre = _nombre(valeur)
    if nombre is not None and nombre < 0:
        raise _Probleme(f"{quoi} négatif ({str(valeur).strip()}). Indiquez un nombre positif ou nul")
    return nombre


_MOIS = {"janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
         "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9, "octobre": 10,
         "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12}


def _date(valeur: Any, excel: bool = False) -> tuple[date | None, str | None]:
    """Date (jj/mm/aaaa, ISO, année seule, mois et année, cellule Excel) et avertissement éventuel."""
    if _est_vide(valeur):
        return None, None
    avertissement = None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, datetime):
        resultat = valeur.date()
    elif isinstance(valeur, date):
        resultat = valeur
    elif isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
        nombre = float(valeur)
        if nombre.is_integer() and ANNEE_MIN <= nombre <= ANNEE_MAX:
            return _annee_seule(int(nombre))
        if excel and 10000 <= nombre <= 80000:
            resultat = (datetime(1899, 12, 30) + timedelta(days=nombre)).date()
        else:
            raise _Probleme(f"« {valeur} » n'est pas une date. Format attendu : jj/mm/aaaa (ex. 15/09/2023)")
    else:
        texte = str(valeur).strip()
        texte = re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", "", texte)
        try:
            if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", texte):
                resultat = date(int(m[3]), int(m[2]), int(m[1]))
            elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2})", texte):
                resultat = date(2000 + int(m[3]), int(m[2]), int(m[1]))
            elif m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", texte):
                resultat = date(int(m[1]), int(m[2]), int(m[3]))
            elif m := re.fullmatch(r"(\d{4})(?:\.0)?", texte):
                return _annee_seule(int(m[1]))
            elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{4})", texte):
                annee, mois = int(m[2]), int(m[1])
                resultat = date(annee, mois, calendar.monthrange(annee, mois)[1])
                avertissement = (f"seuls le mois et l'année sont connus : date fixée au "
                                 f"{resultat.strftime('%d/%m/%Y')}")
            elif (m := re.fullmatch(r"([a-zA-Zéèûô.]+)\s+(\d{4})", texte)) and _normaliser(m[1]) in _MOIS:
                annee, mois = int(m[2]), _MOIS[_normaliser(m[1])]
                resultat = date(annee, mois, calendar.monthrange(annee, mois)[1])
                avertissement = (f"seuls le mois et l'année sont connus : date fixée au "
                                 f"{resultat.strftime('%d/%m/%Y')}")
            else:
                raise _Probleme(f"« {valeur} » illisible. Format attendu : jj/mm/aaaa (ex. 15/09/2023) ou "
                                "aaaa-mm-jj")
        except ValueError:
            raise _Probleme(f"« {valeur} » n'existe pas (jour ou mois hors calendrier). Format attendu : "
                            "jj/mm/aaaa") from None
    if not ANNEE_MIN <= resultat.year <= ANNEE_MAX:
        raise _Probleme(f"date {resultat.strftime('%d/%m/%Y')} invraisemblable (années {ANNEE_MIN} à "
                        f"{ANNEE_MAX}). Corrigez l'année")
    return resultat, avertissement


def _annee_brute(valeur: Any) -> int | None:
    """Année d'une valeur qui n'est qu'une année (« 2024 », 2024, 2024.0), sinon None."""
    if isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
        nombre = float(valeur)
        return int(nombre) if nombre.is_integer() and ANNEE_MIN <= nombre <= ANNEE_MAX else None
    if isinstance(valeur, str) and (m := re.fullmatch(r"(\d{4})(?:\.0)?", valeur.strip())):
        return int(m[1]) if ANNEE_MIN <= int(m[1]) <= ANNEE_MAX else None
    return None


def _annee_seule(annee: int) -> tuple[date, str]:
    if not ANNEE_MIN <= annee <= ANNEE_MAX:
        raise _Probleme(f"année {annee} invraisemblable ({ANNEE_MIN} à {ANNEE_MAX})")
    return date(annee, 12, 31), (f"seule l'année est connue : date de fin des travaux fixée au 31/12/{annee}. "
                                 "Corrigez-la si vous connaissez la date exacte")


def _booleen(valeur: Any) -> bool | None:
    if _est_vide(valeur):
        return None
    if isinstance(valeur, (bool, np.bool_)):
        return bool(valeur)
    if isinstance(valeur, numbers.Real) and float(valeur) in (0.0, 1.0):
        return bool(valeur)
    texte = _normaliser(valeur)
    if texte in ("oui", "o", "vrai", "true", "yes", "y", "x", "1"):
        return True
    if texte in ("non", "n", "faux", "false", "no", "0"):
        return False
    raise _Probleme(f"« {valeur} » : oui ou non attendu")


def _entier(valeur: Any, quoi: str) -> int | None:
    nombre = _positif(valeur, quoi)
    if nombre is None:
        return None
    if not float(nombre).is_integer():
        raise _Probleme(f"nombre entier attendu (reçu {str(valeur).strip()})")
    return int(nombre)


# Valeurs libres de statut et de type de site : table de correspondance (expression → code), dans
_MOTIF_FINANCEMENT = (
    re.compile(r"^(?P<nom>.+?)\s*[:=]\s*(?P<montant>-?[\d][\d\s.,']*)\s*(€|eur|euros)?\.?$", re.IGNORECASE),
    re.compile(r"^(?P<nom>.+?)\s*\(\s*(?P<montant>-?[\d][\d\s.,']*)\s*(€|eur|euros)\s*\)$", re.IGNORECASE),
)


def _decouper_hors_parentheses(texte: str, separateurs: str) -> list[str]:
    morceaux, courant, profondeur = [], [], 0
    for caractere in texte:
        if caractere == "(":
            profondeur += 1
        elif caractere == ")":
            profondeur = max(0, profondeur - 1)
        if caractere in separateurs and profondeur == 0:
            morceaux.append("".join(courant))
            courant = []
        else:
            courant.append(caractere)
    morceaux.append("".join(courant))
    return [m.strip() for m in morceaux if m.strip()]


def _financements(valeur: Any) -> tuple[list[dict], str | None, str | None]:
    """Financements lus (financeur, montant) ; sinon le texte à garder dans la description."""
    if _est_vide(valeur):
        return [], None, None
    if isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
        montant = _positif(valeur, "montant des aides")
        return ([{"financeur": "Financeur non précisé", "montant_eur": montant}], None,
                ("montant sans financeur : enregistré pour « Financeur non précisé ». Indiquez "
                "« financeur : montant »"))
    texte = str(valeur).strip().replace("\u202f", " ").replace("\xa0", " ")
    separateurs = ";\n" if (";" in texte or "\n" in texte) else ","
    elements = _decouper_hors_parentheses(texte, separateurs)
    resultat = []
    for element in elements:
        for motif in _MOTIF_FINANCEMENT:
            if m := motif.match(element):
                try:
                    montant = _nombre(m["montant"].strip())
                except _Probleme:
                    return [], texte, None
                if montant is not None and montant < 0:
                    raise _Probleme(f"montant négatif pour « {m['nom'].strip()} » ({m['montant'].strip()}). "
                                    "Indiquez un montant positif")
                resultat.append({"financeur": m["nom"].strip(), "montant_eur": montant})
                break
        else:
            return [], texte, None
    return resultat, None, None


