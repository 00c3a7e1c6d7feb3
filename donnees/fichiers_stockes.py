"""Fichiers rangés avec les données par le magasin (photos des opérations, fichiers des ressources) : gardes de
chemin et écriture atomique, écrites une fois.

Un fichier stocké est nommé par le magasin (empreinte SHA-256 de son contenu et extension), jamais par
l'appelant, sous un sous-dossier du dossier de données (``photos/``, ``ressources/``). :func:`resoudre_stocke` ne
rend qu'un fichier ordinaire situé dans ce sous-dossier même : ni chemin absolu, ni ``..``, ni lien symbolique, ni
séparateur encodé, ni octet nul (le nom doit suivre le motif du sous-dossier). :func:`ecrire_stocke` écrit par
fichier provisoire puis renommage : jamais de fichier tronqué.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from donnees.erreurs import ErreurDonnees, sur_panne
from donnees.format import neutraliser_controles


def resoudre_stocke(nom_stocke, dossier: Path, sous_dossier: str, motif: re.Pattern) -> Path | None:
    """Fichier ``dossier/<sous_dossier>/<nom>`` d'un nom stocké ``<sous_dossier>/<nom>`` qui suit ``motif`` ; None
    si le nom est refusé, si le fichier manque, n'est pas un fichier ordinaire ou passe par un lien symbolique."""
    if not isinstance(nom_stocke, str) or not motif.fullmatch(nom_stocke):
        return None
    racine = Path(dossier) / sous_dossier
    chemin = racine / nom_stocke.split("/", 1)[1]
    if racine.is_symlink() or chemin.is_symlink() or not racine.is_dir():
        return None
    reel = chemin.resolve()
    if reel.parent != racine.resolve() or not reel.is_file():
        return None
    return reel


def ecrire_stocke(octets: bytes, nom_stocke: str, dossier: Path, sous_dossier: str, motif: re.Pattern,
                  libelle: str, nom_fichier: str, entite: str) -> bool:
    """Écrit ``octets`` sous le nom stocké ``nom_stocke`` (choisi par le magasin) ; renvoie vrai si le fichier est
    nouveau (faux : un fichier identique y était déjà, à ne pas retirer si l'écriture en base échoue). Écriture
    atomique ; sous-dossier en lien symbolique refusé ; disque plein ou dossier en lecture seule :
    :class:`ErreurPanne`, rien d'écrit."""
    racine = Path(dossier) / sous_dossier
    if racine.is_symlink():
        raise ErreurDonnees(f"{libelle.capitalize()} « {neutraliser_controles(nom_fichier)} » : le dossier des "
                            f"{libelle}s est un lien symbolique ; l'administrateur doit le remplacer par un vrai "
                            "dossier.", entite, "fichier")
    cible = racine / nom_stocke.split("/", 1)[1]
    provisoire = racine / f".{cible.name}.{os.getpid()}.tmp"
    with sur_panne(f"le dossier des {libelle}s {racine}"):
        racine.mkdir(parents=True, exist_ok=True)
        if resoudre_stocke(nom_stocke, dossier, sous_dossier, motif) is not None:
            return False
        try:
            provisoire.write_bytes(octets)
            os.replace(provisoire, cible)
        except OSError:
            provisoire.unlink(missing_ok=True)  # disque plein : pas de fichier tronqué laissé derrière
            raise
    return True
