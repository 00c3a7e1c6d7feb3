"""Comptes de démonstration : un par rôle, mots de passe générés, affichés une seule fois.

Réservés au territoire de démonstration (``territoire.json`` : ``"demo": true``) : sur un territoire réel,
:func:`creer_comptes_demo` refuse d'écrire quoi que ce soit.
"""

from __future__ import annotations

from pathlib import Path

from donnees import nomenclatures
from donnees.comptes import creer_compte, generer_mot_de_passe, lire_compte, modifier_compte, reinitialiser_mot_de_passe
from donnees.config import chemin_territoire
from donnees.config import url_base as url_base_config
from donnees.demo.parametres import lire_communes_demo, lire_parametres
from donnees.erreurs import ErreurDonnees
from donnees.referentiel import lire_territoire

AUTEUR_COMPTES_DEMO = "desimper demo"


def exiger_territoire_demo(dossier: Path) -> None:
    """Lève :class:`ErreurDonnees` si ``dossier`` ne contient pas le territoire de démonstration."""
    if not chemin_territoire(dossier).exists():
        raise ErreurDonnees(f"Aucun territoire dans {dossier} : générez d'abord la démonstration "
                            "(`desimper demo`).", "demo")
    if lire_territoire(dossier).get("demo") is not True:
        raise ErreurDonnees(f"Le dossier {dossier} contient un territoire réel : les comptes de démonstration "
                            "(mots de passe affichés en clair) y sont refusés. Créez de vrais comptes avec "
                            "`desimper utilisateur creer`.", "demo", "comptes")


def creer_comptes_demo(dossier: Path, url_base: str | None = None) -> list[dict]:
    """Crée (ou réinitialise) un compte de démonstration par rôle ; renvoie ses identifiants en clair.

    Chaque élément : ``email``, ``nom``, ``role``, ``libelle_role``, ``communes`` (codes INSEE),
    ``noms_communes`` (« Sète (34301) »), ``mot_de_passe`` (généré, conforme à la politique des comptes).
    Un compte déjà présent est réactivé avec un nouveau mot de passe. Les comptes dont la démonstration déclare une
    fiche d'annuaire (clé ``annuaire``) y figurent, avec consentement ; les autres n'y sont pas.
    Les mots de passe ne sont gardés qu'en empreinte : c'est la seule occasion de les lire.
    """
    from donnees.magasin import Magasin  # import local : le magasin n'est utile qu'ici

    dossier = Path(dossier)
    exiger_territoire_demo(dossier)
    magasin = Magasin(url_base or url_base_config(dossier))
    magasin.creer_tables()
    noms = dict(zip(lire_communes_demo()["code_insee"], lire_communes_demo()["nom"]))
    resultat = []
    try:
        for compte in lire_parametres()["comptes"]["comptes"]:
            email, communes = compte["email"], list(compte["communes"])
            if lire_compte(magasin, email) is None:
                mot_de_passe = generer_mot_de_passe()
                creer_compte(magasin, email, compte["nom"], compte["role"], communes, mot_de_passe,
                             auteur=AUTEUR_COMPTES_DEMO)
            else:
                modifier_compte(magasin, email, AUTEUR_COMPTES_DEMO, nom=compte["nom"], role=compte["role"],
                                communes=communes, actif=True)
                mot_de_passe = reinitialiser_mot_de_passe(magasin, email, AUTEUR_COMPTES_DEMO)
            if compte.get("annuaire"):  # fiche d'annuaire consentie (issue 16, partie 4) ; pas pour tous
                magasin.ecrire_fiche_annuaire(email, True, compte["annuaire"], AUTEUR_COMPTES_DEMO)
            resultat.append({"email": email, "nom": compte["nom"], "role": compte["role"],
                             "libelle_role": nomenclatures.ROLES[compte["role"]], "communes": communes,
                             "noms_communes": [f"{noms.get(c, c)} ({c})" for c in communes],
                             "mot_de_passe": mot_de_passe})
    finally:
        magasin.fermer()
    return resultat
