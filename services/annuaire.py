"""Annuaire des membres (issue 16, partie 4) : pairs des autres territoires de l'instance.

Chaque territoire a sa base et ses comptes ; un membre connecté ici lit, dans les autres territoires, les seules
fiches que leurs membres ont rendues visibles hors de leur territoire (:func:`donnees.droits.annuaire.
lire_pairs_autres_territoires`). Un territoire illisible (base absente, panne) est signalé, pas bloquant.
"""

from __future__ import annotations

from contextlib import ExitStack

import pandas as pd

from donnees.comptes import Utilisateur
from donnees.config import dans_territoire
from donnees.droits.annuaire import lire_pairs_autres_territoires
from donnees.droits.communes import lire_noms_communes
from donnees.erreurs import ErreurDonnees
from donnees.instance import TerritoireInstance
from donnees.magasin import Magasin


def lire_pairs_instance(lecteur: Utilisateur, territoires: list[TerritoireInstance],
                        code_courant: str) -> tuple[pd.DataFrame, list[str]]:
    """Fiches visibles hors territoire des autres territoires que ``code_courant`` pour ``lecteur`` (son compte dans
    le territoire courant), et les messages des territoires illisibles. Colonne ``noms_communes`` : noms des communes
    de la fiche dans SON territoire (codes INSEE → nom)."""
    erreurs, sources, noms = [], [], {}
    with ExitStack() as pile:
        for territoire in territoires:
            if territoire.code == code_courant:
                continue
            try:
                with dans_territoire(territoire.actif):
                    magasin = Magasin(territoire.url)
                    pile.callback(magasin.fermer)
                    magasin.creer_tables()
                    noms[territoire.code] = lire_noms_communes(territoire.dossier)
            except ErreurDonnees as erreur:
                erreurs.append(f"{territoire.nom} : {erreur}")
                continue
            sources.append((territoire.code, territoire.nom, magasin))
        fiches = lire_pairs_autres_territoires(lecteur, sources)
    fiches["noms_communes"] = [noms.get(code, {}) for code in fiches["territoire"]]
    return fiches, erreurs
