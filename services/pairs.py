"""« Qui l'a fait avant moi ? » (issue 16, partie 4) : les opérations réalisées semblables à un projet, leurs communes
et, pour un membre connecté, les référents de ces communes qui figurent dans l'annuaire.

Le registre est lu **selon les droits du lecteur** (façade :class:`donnees.droits.MagasinProtege`) : les pairs sont
des opérations réalisées et validées (les mêmes pour tous) ; leur coût au m² n'entre dans le classement et
l'explication que si le lecteur peut lire les montants de l'opération (financeur, syndicat, référent sur ses
communes) ; les référents (nom, fonction, coordonnées consenties) ne sont donnés qu'à un membre connecté qui peut
lire l'annuaire — jamais au public, qui ne reçoit que communes et chiffres publics. Classement et explication :
:mod:`indicateurs.pairs` (paramètres ``indicateurs/parametres/pairs.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from donnees.nomenclatures import lire_revetements, lire_types_site
from indicateurs.calcul import calculer_indicateurs_operations
from indicateurs.pairs import ProjetReference, classer_pairs, relever_revetements_dominants

STATUT_REALISE, VALIDATION_RETENUE = "realisee", "validee"
COLONNES_REFERENTS = ["code_insee", "nom", "fonction", "telephone", "email"]


@dataclass(frozen=True)
class ResultatPairs:
    """Pairs d'un projet : ``pairs`` (colonnes de :data:`indicateurs.pairs.COLONNES_PAIRS` et ``commune``),
    ``referents`` (fiches consenties des référents de leurs communes, une ligne par commune et référent ; None pour
    qui ne lit pas l'annuaire), ``couts_lisibles`` (le coût a pu servir)."""

    projet: ProjetReference
    pairs: pd.DataFrame
    referents: pd.DataFrame | None
    couts_lisibles: bool


def preparer_candidates(indicateurs_operations: pd.DataFrame, zones: pd.DataFrame,
                        couts_lisibles: bool) -> pd.DataFrame:
    """Opérations du registre lisibles, avec ce que compare :func:`indicateurs.pairs.classer_pairs` : surface
    désimperméabilisée (déclarée si la géométrie manque), coût au m² (NaN s'il n'est pas lisible), revêtement après
    travaux dominant, statut et validation."""
    table = indicateurs_operations
    surface = pd.to_numeric(table["surface_desimpermeabilisee"], errors="coerce")
    if "surface_declaree" in table.columns:
        surface = surface.where(surface > 0, pd.to_numeric(table["surface_declaree"], errors="coerce"))
    cout = (pd.to_numeric(table["cout_par_m2"], errors="coerce") if couts_lisibles and "cout_par_m2" in table.columns
            else pd.Series(np.nan, index=table.index))
    dominants = relever_revetements_dominants(zones)
    return pd.DataFrame({
        "operation_id": table["operation_id"].astype(int).to_numpy(), "code_insee": table["code_insee"].astype(str),
        "nom": table["nom"].astype(str), "type_site": table["type_site"].astype(str), "annee": table["annee"],
        "statut": table["statut"], "validation": table["validation"], "surface_m2": surface.astype(float),
        "cout_par_m2": cout.astype(float),
        "revetement_apres": table["operation_id"].astype(int).map(dominants).astype(object).to_numpy(),
    }).reset_index(drop=True)


def decrire_projet_operation(candidates: pd.DataFrame, operation_id: int) -> ProjetReference | None:
    """Le projet de référence tiré d'une opération lisible (None si le lecteur ne la voit pas)."""
    ligne = candidates[candidates["operation_id"].eq(int(operation_id)).to_numpy(bool)]
    if ligne.empty:
        return None
    o = ligne.iloc[0]
    return ProjetReference(type_site=str(o["type_site"]), surface_m2=_nombre(o["surface_m2"]),
                           cout_par_m2=_nombre(o["cout_par_m2"]),
                           revetement_apres=o["revetement_apres"] if isinstance(o["revetement_apres"], str) else None,
                           operation_id=int(operation_id))


def _nombre(valeur) -> float | None:
    nombre = pd.to_numeric(pd.Series([valeur]), errors="coerce").iloc[0]
    return float(nombre) if pd.notna(nombre) and nombre > 0 else None


def lire_indicateurs_lisibles(facade, parametres=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indicateurs par opération et zones du registre, tels que le lecteur de ``facade`` peut les lire."""
    operations, zones = facade.lire_operations(), facade.lire_zones()
    financements = facade.lire_financements() if facade.peut("lire_details") else None  # public : aucun montant
    return calculer_indicateurs_operations(operations, zones, financements, parametres), zones


def chercher_pairs(facade, projet: ProjetReference | None = None, operation_id: int | None = None,
                   indicateurs_operations: pd.DataFrame | None = None, zones: pd.DataFrame | None = None,
                   noms_communes: dict[str, str] | None = None, parametres=None) -> ResultatPairs | None:
    """Pairs de ``projet`` (ou de l'opération ``operation_id``) vus par le lecteur de ``facade``.

    ``indicateurs_operations`` et ``zones`` : tables déjà lues **avec les droits de ce lecteur** (la page les a
    en cache) ; sans elles, le registre est lu par la façade. None si l'opération n'est pas lisible."""
    if indicateurs_operations is None or zones is None:
        indicateurs_operations, zones = lire_indicateurs_lisibles(facade, parametres)
    couts_lisibles = facade.peut("lire_details")
    candidates = preparer_candidates(indicateurs_operations, zones, couts_lisibles)
    if projet is None:
        projet = decrire_projet_operation(candidates, int(operation_id))
        if projet is None:
            return None
    elif not couts_lisibles and projet.cout_par_m2 is not None:
        projet = ProjetReference(projet.type_site, projet.surface_m2, None, projet.revetement_apres,
                                 projet.operation_id, projet.exclure_commune)
    realisees = candidates[candidates["statut"].eq(STATUT_REALISE).to_numpy(bool)
                           & candidates["validation"].eq(VALIDATION_RETENUE).to_numpy(bool)]
    noms = dict(noms_communes or facade.noms_communes)
    pairs = classer_pairs(realisees, projet, None, noms, lire_types_site(), lire_revetements()["libelle"].to_dict())
    pairs.insert(2, "commune", pairs["code_insee"].map(lambda c: noms.get(str(c), str(c))))
    referents = None
    if facade.peut("lire_annuaire"):
        referents = relever_referents(facade.lire_referents_communes(pairs["code_insee"].unique()),
                                      pairs["code_insee"].unique())
    return ResultatPairs(projet, pairs, referents, couts_lisibles)


def relever_referents(fiches: pd.DataFrame, codes) -> pd.DataFrame:
    """Une ligne par (commune, référent) : ``code_insee``, ``nom``, ``fonction``, ``telephone``, ``email`` (None
    si non consentis)."""
    lignes = [{"code_insee": code, **{c: fiche[c] for c in COLONNES_REFERENTS[1:]}}
              for code in codes for fiche in fiches.to_dict("records") if code in fiche["communes"]]
    return pd.DataFrame(lignes, columns=COLONNES_REFERENTS)
