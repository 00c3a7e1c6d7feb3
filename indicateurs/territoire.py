"""Indicateurs d'un territoire entier, lus depuis le dossier de données et le magasin (CLI, rapports).

Assemble : indicateurs vectoriels par commune et bassin (:mod:`indicateurs.calcul`), ratios des villes
pairs (:mod:`indicateurs.comparaison`) et, si demandé, indicateurs des modèles sur grille (chaleur et eau,
:func:`indicateurs.modeles.calculer_modeles_territoire`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from donnees.config import dossier_donnees, url_base
from donnees.magasin import Magasin
from donnees.referentiel import couche_presente, lire_couche, lire_couche_facultative, lire_territoire
from indicateurs.calcul import calculer_indicateurs_communes, joindre_indicateurs_grille
from indicateurs.communs import Filtres
from indicateurs.comparaison import calculer_ratios_communes
from indicateurs.finances import calculer_aides_par_financeur
from indicateurs.parametres import lire_parametres
from indicateurs.surfaces import calculer_surface_impermeable_communes


def calculer_indicateurs_territoire(dossier: Path | None = None, filtres: Filtres | None = None,
                                    avec_grille: bool = True) -> pd.DataFrame:
    """Tous les indicateurs par commune + ligne ``bassin`` (colonnes = codes du catalogue).

    ``avec_grille`` : ajoute chaleur et eau sur grille (quelques secondes à froid, puis lus en cache).
    L'année de référence de la trajectoire est dans ``table.attrs["annee_reference"]`` ; les aides par
    financeur (montant et part, par commune et bassin) dans ``table.attrs["aides_par_financeur"]``.
    """
    dossier = Path(dossier) if dossier else dossier_donnees()
    territoire = lire_territoire(dossier)
    parametres = lire_parametres(territoire.get("parametres"))
    magasin = Magasin(url_base(dossier))
    try:
        operations, zones, financements = magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()
    finally:
        magasin.fermer()
    communes = lire_couche("communes", dossier)
    table = calculer_indicateurs_communes(
        operations, zones, financements, communes,
        calculer_surface_impermeable_communes(lire_couche_facultative("occupation", dossier)),
        lire_couche_facultative("objectifs", dossier), lire_couche_facultative("nouvelles_surfaces", dossier),
        parametres, filtres)
    reference = table.attrs.get("annee_reference")
    table = calculer_ratios_communes(table, communes.set_index("code_insee")["population"])
    if avec_grille and couche_presente("occupation", dossier):
        from indicateurs.modeles import calculer_modeles_territoire

        modeles = calculer_modeles_territoire(dossier)
        table = joindre_indicateurs_grille(table, modeles.chaleur.communes, modeles.eau_communes)
    elif avec_grille:  # territoire réel sans occupation du sol : colonnes de grille vides
        table = joindre_indicateurs_grille(table, None, None)
    table.attrs["annee_reference"] = reference
    table.attrs["aides_par_financeur"] = calculer_aides_par_financeur(operations, financements, filtres)
    return table
