"""Ligne de commande `desimper` : démonstration, vérification, serveur."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

RACINE = Path(__file__).resolve().parent


def _barre_progression():
    """Renvoie (rappel, fermeture) d'une barre tqdm pilotée par (étape, fraction)."""
    from tqdm import tqdm

    barre = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {elapsed}", file=sys.stderr)

    def rappel(etape: str, fraction: float) -> None:
        barre.set_description(etape)
        barre.update(max(0, round(fraction * 100) - barre.n))

    return rappel, barre.close


def commande_demo(args) -> int:
    from donnees.config import chemin_territoire, dossier_donnees
    from donnees.demo import generer_demo

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    if args.si_absent and chemin_territoire(dossier).exists():
        print(f"Territoire déjà présent dans {dossier} : rien à faire.")
        return 0
    print(f"Génération du territoire de démonstration ({args.taille}, graine {args.graine}) dans {dossier}…")
    rappel, fermer = _barre_progression()
    debut = time.perf_counter()
    try:
        resume = generer_demo(dossier, taille=args.taille, graine=args.graine, progression=rappel)
    finally:
        fermer()
    duree = time.perf_counter() - debut
    print(f"Territoire de démonstration prêt en {duree:.1f} s.".replace(".", ",", 1))
    libelles = {"communes": "communes", "parcelles": "parcelles", "occupation": "polygones d'occupation du sol",
                "operations": "opérations", "zones": "zones", "financements": "financements", "photos": "photos"}
    for cle, libelle in libelles.items():
        if isinstance(resume.get(cle), int):
            print(f"  {libelle} : {resume[cle]:,}".replace(",", " "))
    return 0


def commande_verifier(args) -> int:
    from donnees.config import dossier_donnees, url_base
    from donnees.verification import verifier_donnees

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    constats = verifier_donnees(dossier, url_base(dossier))
    marques = {"ok": "✔", "avertissement": "⚠", "erreur": "✘"}
    print(f"Vérification du dossier de données {dossier}")
    for constat in constats:
        print(f"  {marques[constat.niveau]} {constat.sujet} : {constat.message}")
    erreurs = sum(c.niveau == "erreur" for c in constats)
    if erreurs:
        print(f"{erreurs} problème(s) à corriger.")
        return 1
    print("Tout est en ordre.")
    return 0


def commande_serveur(args) -> int:
    commande = [sys.executable, "-m", "streamlit", "run", str(RACINE / "app.py"),
                "--server.port", str(args.port), "--server.address", args.adresse]
    os.chdir(RACINE)
    os.execv(sys.executable, commande)
    return 0  # jamais atteint


def construire_analyseur() -> argparse.ArgumentParser:
    analyseur = argparse.ArgumentParser(prog="desimper", description="Désimper : registre et tableau de "
                                        "bord de la désimperméabilisation d'un bassin versant.")
    sous = analyseur.add_subparsers(dest="commande", required=True, metavar="COMMANDE")

    demo = sous.add_parser("demo", help="génère le territoire de démonstration (25 communes du bassin de Thau)")
    demo.add_argument("--taille", choices=["petite", "complete"], default="complete",
                      help="petite : quelques milliers de parcelles (tests) ; complete : ≥ 150 000 (défaut)")
    demo.add_argument("--graine", type=int, default=42, help="graine aléatoire (défaut : 42)")
    demo.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    demo.add_argument("--si-absent", action="store_true", help="ne rien faire si un territoire existe déjà")
    demo.set_defaults(fonction=commande_demo)

    verifier = sous.add_parser("verifier", help="vérifie le dossier de données et la base")
    verifier.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    verifier.set_defaults(fonction=commande_verifier)

    serveur = sous.add_parser("serveur", help="démarre l'application Streamlit")
    serveur.add_argument("--port", type=int, default=8501)
    serveur.add_argument("--adresse", default="localhost")
    serveur.set_defaults(fonction=commande_serveur)
    ajouter_commandes_utilisateur(sous)
    return analyseur


def main(argv: list[str] | None = None) -> int:
    """Point d'entrée de la commande `desimper`."""
    args = construire_analyseur().parse_args(argv)
    from donnees.schemas import ErreurDonnees

    try:
        return args.fonction(args)
    except ErreurDonnees as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130


# ------------------------------------------------------------------------------ comptes utilisateurs


def _magasin_comptes(args):
    """Magasin du dossier de données (tables créées si absentes : premier administrateur)."""
    from donnees.config import url_base
    from donnees.magasin import Magasin

    dossier = Path(args.dossier).resolve() if args.dossier else None
    magasin = Magasin(url_base(dossier))
    magasin.creer_tables()
    return magasin


def _mot_de_passe_cli(args) -> tuple[str, bool]:
    """Mot de passe du compte et vrai s'il a été généré : option, $DESIMPER_MOT_DE_PASSE, saisie, génération."""
    import getpass

    from donnees.comptes import generer_mot_de_passe, verifier_politique_mot_de_passe
    from donnees.schemas import ErreurDonnees

    if args.mot_de_passe:
        return args.mot_de_passe, False
    variable = os.environ.get("DESIMPER_MOT_DE_PASSE", "")
    if variable:
        return variable, False
    if sys.stdin is not None and sys.stdin.isatty():
        for _ in range(3):
            premier = getpass.getpass("Mot de passe (12 caractères au moins) : ")
            try:
                verifier_politique_mot_de_passe(premier, args.email)
            except ErreurDonnees as exc:
                print(exc, file=sys.stderr)
                continue
            if getpass.getpass("Mot de passe (confirmation) : ") == premier:
                return premier, False
            print("Les deux saisies diffèrent : recommencez.", file=sys.stderr)
        raise ErreurDonnees("Mot de passe non confirmé après trois essais : compte non créé.", "utilisateur")
    return generer_mot_de_passe(), True


def commande_utilisateur_creer(args) -> int:
    from donnees.comptes import creer_compte

    mot_de_passe, genere = _mot_de_passe_cli(args)
    magasin = _magasin_comptes(args)
    try:
        compte = creer_compte(magasin, args.email, args.nom, args.role, args.communes or "", mot_de_passe,
                              auteur=f"cli:{_compte_systeme()}")
    finally:
        magasin.fermer()
    communes = f", communes {', '.join(sorted(compte.communes))}" if compte.communes else ""
    print(f"Compte créé : {compte.email} ({compte.nom}), {compte.libelle_role}{communes}.")
    if genere:
        print(f"Mot de passe généré (affiché une seule fois, transmettez-le par un canal sûr) : {mot_de_passe}")
    return 0


def _compte_systeme() -> str:
    """Compte système qui lance la commande (pour le journal)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - pas de compte système identifiable
        return "inconnu"


def commande_utilisateur_lister(args) -> int:
    from donnees import nomenclatures
    from donnees.comptes import lister_comptes

    magasin = _magasin_comptes(args)
    try:
        table = lister_comptes(magasin)
    finally:
        magasin.fermer()
    if table.empty:
        print("Aucun compte. Créez le premier administrateur : desimper utilisateur creer --role administrateur …")
        return 0
    print(f"{len(table)} compte(s) :")
    for ligne in table.itertuples():
        etat = "actif" if ligne.actif else "désactivé"
        communes = ", ".join(ligne.communes) or "—"
        connexion = ligne.derniere_connexion
        connexion = "jamais" if connexion is None or connexion != connexion else f"{connexion:%Y-%m-%d %H:%M} UTC"
        print(f"  {ligne.email} · {ligne.nom} · {nomenclatures.ROLES.get(ligne.role, ligne.role)} · "
              f"communes : {communes} · {etat} · dernière connexion : {connexion}")
    return 0


def ajouter_commandes_utilisateur(sous) -> None:
    """Sous-commandes `desimper utilisateur creer|lister`."""
    utilisateur = sous.add_parser("utilisateur", help="comptes : créer (dont le premier administrateur), lister")
    actions = utilisateur.add_subparsers(dest="action", required=True, metavar="ACTION")
    creer = actions.add_parser(
        "creer", help="crée un compte",
        description="Crée un compte. Sans --mot-de-passe : $DESIMPER_MOT_DE_PASSE, sinon saisie masquée "
                    "(deux fois) dans un terminal, sinon mot de passe généré et affiché une fois.")
    creer.add_argument("--email", required=True, help="adresse électronique (identifiant de connexion)")
    creer.add_argument("--nom", required=True, help="prénom et nom")
    creer.add_argument("--role", required=True, choices=["administrateur", "referent", "financeur"])
    creer.add_argument("--communes", help="codes INSEE séparés par des virgules (obligatoire pour un référent)")
    creer.add_argument("--mot-de-passe", dest="mot_de_passe",
                       help="mot de passe (12 caractères au moins ; attention, visible dans l'historique du shell)")
    creer.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    creer.set_defaults(fonction=commande_utilisateur_creer)
    lister = actions.add_parser("lister", help="liste les comptes")
    lister.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    lister.set_defaults(fonction=commande_utilisateur_lister)


if __name__ == "__main__":
    sys.exit(main())
