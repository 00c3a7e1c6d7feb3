"""Valeurs codées en texte libre (statut, type de site, revêtement) : codes, libellés, synonymes, règles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from donnees import nomenclatures
from donnees.import_operations.valeurs import _normaliser, _Probleme

# Valeurs libres de statut et de type de site : table de correspondance (expression → code), dans
# donnees/nomenclatures/correspondances_import.csv ; la première ligne dont l'expression figure dans la
# valeur (mots entiers, après normalisation) l'emporte. Code vide : valeur refusée, avec son explication.
FICHIER_CORRESPONDANCES = Path(__file__).parent.parent / "nomenclatures" / "correspondances_import.csv"


def _lire_regles(champ: str) -> tuple[tuple[str, str | None, bool, str | None], ...]:
    """Règles (expression normalisée, code ou None, approximatif, explication) d'un champ."""
    table = pd.read_csv(FICHIER_CORRESPONDANCES, dtype=str, keep_default_na=False)
    regles = []
    for ligne in table[table["champ"] == champ].itertuples(index=False):
        regles.append((_normaliser(ligne.expression), ligne.code.strip() or None,
                       _normaliser(ligne.approximatif) == "oui", ligne.explication.strip() or None))
    return tuple(regles)


def _contient_expression(texte: str, expression: str) -> bool:
    """Vrai si l'expression normalisée figure dans le texte normalisé, en mots entiers."""
    return bool(expression) and f"_{expression}_" in f"_{texte}_"


_SYNONYMES_REVETEMENTS = {
    "enrobe": ("bitume", "bitumineux", "asphalte", "goudron", "enrobe_bitumineux", "enrobes", "macadam"),
    "beton": ("beton", "dalles", "dallage", "paves", "paves_joints_etanches", "beton_desactive",
              "carrelage", "beton_dalles"),
    "stabilise": ("stabilise", "gravier", "graviers", "gravillons", "grave", "sable_stabilise",
                  "gravier_compacte", "calcaire_compacte"),
    "paves_enherbes": ("paves_enherbes", "dalles_alveolees", "dalles_engazonnees", "paves_joints_enherbes",
                       "evergreen", "dalles_gazon"),
    "drainant": ("drainant", "enrobe_drainant", "beton_drainant", "resine_drainante", "beton_poreux",
                 "revetement_drainant", "resine"),
    "paillage": ("paillage", "copeaux", "copeaux_bois", "broyat", "mulch", "paillis", "ecorces"),
    "pelouse": ("pelouse", "gazon", "herbe", "prairie", "enherbe", "enherbement", "pelouse_enherbee",
                "pleine_terre_enherbee"),
    "massif": ("massif", "massifs", "plantations", "plantation", "arbustes", "massif_plante",
               "massifs_plantes", "pleine_terre_plantee", "vegetalisation"),
    "arbres": ("arbres", "arbre", "boisement", "bosquet", "couvert_arbore", "plantation_arbres"),
    "noue": ("noue", "noues", "jardin_pluie", "jardins_pluie", "bassin_infiltration"),
    "toiture_vegetalisee": ("toiture_vegetalisee", "toit_vegetal", "toit_vegetalise", "toiture_vegetale"),
    "vigne": ("vigne", "vignes", "culture", "cultures", "potager"),
    "eau": ("eau", "mare", "bassin", "plan_eau"),
    "sol_nu": ("sol_nu", "terre", "terre_nue", "sols_nus"),
    "bati": ("bati", "batiment", "batiments", "toiture", "construction"),
}


@dataclass(frozen=True)
class _Nomenclature:
    nom: str
    libelles: dict[str, str]
    synonymes: dict[str, str]
    regles: tuple = ()

    def lire(self, valeur: Any) -> tuple[str, str | None]:
        """Code reconnu et avertissement si l'interprétation est approximative ; lève _Probleme sinon."""
        texte = _normaliser(valeur)
        for code, libelle in self.libelles.items():
            if texte in (_normaliser(code), _normaliser(libelle)):
                return code, None
        if texte in self.synonymes:
            return self.synonymes[texte], None
        for expression, code, approximatif, explication in self.regles:
            if texte and _contient_expression(texte, expression):
                if code is None:
                    raise _Probleme(f"« {valeur} » : {explication or 'valeur refusée'}")
                if approximatif:
                    return code, (f"« {valeur} » interprété comme « {self.libelles[code]} » ({code}) ; "
                                  "corrigez si besoin")
                return code, None
        possibles = ", ".join(f"{c} ({l})" for c, l in self.libelles.items())
        raise _Probleme(f"valeur « {valeur} » inconnue. Valeurs possibles : {possibles}")


def _nomenclatures() -> dict[str, _Nomenclature]:
    revetements = nomenclatures.lire_revetements()
    libelles_rev = {str(c): str(revetements.loc[c, "libelle"]) for c in revetements.index}
    synonymes_rev = {}
    for code, liste in _SYNONYMES_REVETEMENTS.items():
        if code in libelles_rev:
            for synonyme in liste:
                synonymes_rev[_normaliser(synonyme)] = code
    types = nomenclatures.lire_types_site()
    return {
        "revetement": _Nomenclature("revêtement", libelles_rev, synonymes_rev),
        "type_site": _Nomenclature("type de site", dict(types), {},
                                   tuple(r for r in _lire_regles("type_site") if r[1] is None or r[1] in types)),
        "statut": _Nomenclature("statut", dict(nomenclatures.STATUTS), {},
                                tuple(r for r in _lire_regles("statut")
                                      if r[1] is None or r[1] in nomenclatures.STATUTS)),
    }


