"""Captures pleine page de chaque page × rôle × largeur (1440 et 390 px), et textes interdits relevés.

    python -m tests.navigateur.captures --sortie DOSSIER [--donnees DOSSIER_DEMO] [--url http://…]

Sans ``--url``, lance `desimper serveur` sur ``--donnees`` (par défaut une démonstration « petite » générée
dans un dossier temporaire) ; crée les comptes de test des rôles s'ils manquent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

RACINE = Path(__file__).resolve().parents[2]
for chemin in (RACINE, RACINE / "tests", RACINE / "tests" / "navigateur"):
    if str(chemin) not in sys.path:
        sys.path.insert(0, str(chemin))

from outils import CHROMIUM, OPTIONS_CHROMIUM, arreter_serveur, lancer_serveur  # noqa: E402
from parcours import ROLES, capturer, chercher_interdits, creer_comptes, lire_texte_visible, parcourir  # noqa: E402


def preparer_donnees(dossier: Path | None) -> Path:
    """Dossier de données : celui donné, ou une démonstration « petite » neuve (graine 7)."""
    if dossier is not None:
        return dossier
    from donnees.demo import generer_demo

    dossier = Path(tempfile.mkdtemp(prefix="desimper-captures-")) / "demo"
    generer_demo(dossier, taille="petite", graine=7)
    return dossier


def capturer_tout(url: str, sortie: Path, roles: list[str] | None = None) -> dict:
    """Captures de toutes les pages de chaque rôle ; renvoie ``{(rôle, page): [textes interdits]}``."""
    from playwright.sync_api import sync_playwright

    constats = {}
    with sync_playwright() as pw:
        navigateur = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=OPTIONS_CHROMIUM)
        try:
            for role in ROLES:
                if roles and role.nom not in roles:
                    continue
                debut = time.monotonic()

                def visiter(page, libelle, role=role):
                    constats[(role.nom, libelle)] = chercher_interdits(lire_texte_visible(page))
                    capturer(page, sortie, role, libelle)

                pages = parcourir(navigateur, url, role, visiter)
                print(f"{role.nom} : {len(pages)} pages en {time.monotonic() - debut:.0f} s", flush=True)
        finally:
            navigateur.close()
    return constats


def main(arguments: list[str] | None = None) -> int:
    analyseur = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    analyseur.add_argument("--sortie", type=Path, required=True, help="dossier des captures PNG")
    analyseur.add_argument("--donnees", type=Path, help="dossier de données (défaut : démonstration neuve)")
    analyseur.add_argument("--url", help="application déjà lancée (les comptes doivent exister)")
    analyseur.add_argument("--roles", nargs="*", help="public referent financeur administrateur (défaut : tous)")
    options = analyseur.parse_args(arguments)
    serveur = None
    if options.url:
        url = options.url.rstrip("/")
        if options.donnees:
            creer_comptes(options.donnees)
    else:
        dossier = preparer_donnees(options.donnees)
        creer_comptes(dossier)
        processus, journal, url = lancer_serveur(dossier, options.sortie / "serveur.log")
        serveur = (processus, journal)
    try:
        constats = capturer_tout(url, options.sortie, options.roles)
    finally:
        if serveur:
            arreter_serveur(*serveur)
    defauts = {cle: textes for cle, textes in constats.items() if textes}
    for (role, page), textes in defauts.items():
        print(f"[{role}] {page} :", *textes, sep="\n  ")
    print(f"{len(constats)} pages capturées dans {options.sortie} ; {len(defauts)} avec un texte interdit.")
    return 1 if defauts else 0


if __name__ == "__main__":
    sys.exit(main())
