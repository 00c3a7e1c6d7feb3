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


if __name__ == "__main__":
    sys.exit(main())
