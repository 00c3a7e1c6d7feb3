"""Playwright + Chromium : une instance à deux territoires (issue 14, point 1).

Le financeur de l'Agence, connecté au territoire par défaut, change de territoire dans la barre latérale : les
chiffres et la carte changent, il y est anonyme (un compte ne vaut que dans son territoire) ; il s'y connecte ;
la page « Territoires » montre alors les deux territoires avec leurs montants ; revenu au premier, il y est de
nouveau connecté. Captures à 1440 px et 390 px dans tests/sorties/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cli
from parcours import (
    LARGEUR_TELEPHONE,
    MOT_DE_PASSE,
    Role,
    aller_a,
    attendre_calme,
    chercher_interdits,
    lire_texte_visible,
    ouvrir_session,
)
from test_saisie_navigateur import _proprietes_carte

SORTIES = Path(__file__).resolve().parents[1] / "sorties"
FINANCEUR = Role("financeur", "financeur@agence-eau.fr", "Claude Financeur", "financeur")

pytestmark = pytest.mark.navigateur


@pytest.fixture(scope="module")
def instance_deux_territoires(dossier_demo, tmp_path_factory):
    """« thau » (copie de la démonstration, graine 7) et « etang » (démonstration petite, graine 11), un compte
    financeur de même adresse dans chacun."""
    racine = tmp_path_factory.mktemp("instance_navigateur")
    thau = racine / "thau"
    shutil.copytree(dossier_demo, thau)
    environnement = pytest.MonkeyPatch()
    try:
        environnement.setenv("DESIMPER_DONNEES", str(thau))
        environnement.delenv("DESIMPER_BASE_URL", raising=False)
        environnement.delenv("DESIMPER_INSTANCE", raising=False)
        assert cli.main(["territoire", "ajouter", "--code", "etang", "--nom", "Étang de test", "--dossier",
                         "../etang", "--demo", "petite", "--graine", "11", "--code-existant", "thau",
                         "--sans-modeles"]) == 0
        _preparer_modeles(racine / "etang", thau)
        for code in ("thau", "etang"):
            assert cli.main(["--territoire", code, "utilisateur", "creer", "--email", FINANCEUR.email, "--nom",
                             FINANCEUR.nom_affiche, "--role", "financeur", "--mot-de-passe", MOT_DE_PASSE]) == 0
    finally:
        environnement.undo()
    return thau


def _preparer_modeles(*dossiers) -> None:
    """Grille de 20 m comme la démonstration des tests, modèles chaleur et eau calculés d'avance (cache disque) :
    la première vue de chaque territoire dans Chromium ne les calcule pas."""
    from donnees.referentiel import ecrire_territoire, lire_territoire
    from services.modeles import calculer_modeles_territoire

    for dossier in dossiers:
        territoire = lire_territoire(dossier)
        territoire["parametres"] = {**territoire.get("parametres", {}), "resolution_grille_m": 20}
        ecrire_territoire(territoire, dossier)
        calculer_modeles_territoire(dossier)


def _chiffre_et_carte(page) -> tuple[str, str]:
    """Première carte de chiffre (surface désimperméabilisée) et propriétés des objets de la carte."""
    return page.locator("[data-testid='stMetricValue']").first.inner_text(), _lire_carte(page)


def _lire_carte(page) -> str:
    """Propriétés des objets de la carte Leaflet de la page (attendues jusqu'à 30 s)."""
    carte = ""
    for _ in range(60):
        carte = " ".join(_proprietes_carte(cadre) for cadre in page.frames[1:])
        if carte:
            break
        page.wait_for_timeout(500)
    return carte


def _choisir_territoire(page, nom: str) -> None:
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name=nom).click()
    page.wait_for_timeout(300)
    attendre_calme(page)


def _capturer(page, nom: str) -> None:
    SORTIES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SORTIES / f"territoires_{nom}.png"), full_page=True)


def test_changer_de_territoire_et_vue_inter_territoires(navigateur, demarrer_serveur, instance_deux_territoires):
    url = demarrer_serveur(instance_deux_territoires)
    contexte, page = ouvrir_session(navigateur, url, FINANCEUR)
    erreurs: list[str] = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))
    barre = page.locator("[data-testid='stSidebar']")
    principal = page.locator("[data-testid='stMain']")
    try:
        aller_a(page, "Vue d'ensemble")
        assert "territoire=thau" in page.url and "Connecté : Claude Financeur" in barre.inner_text()
        chiffre_thau, carte_thau = _chiffre_et_carte(page)

        aller_a(page, "Territoires")
        texte = principal.inner_text()
        assert "Bassin de Thau" in texte and "Étang de test" in texte
        # cartes de chiffres (les tableaux sont dessinés dans un canevas) : montants du territoire où il est connecté
        assert texte.count("Montant des aides") == 1
        assert "Montants réservés" in texte  # l'autre territoire : pas encore connecté
        _capturer(page, "financeur_un_territoire_1440")

        _choisir_territoire(page, "Étang de test")
        assert "territoire=etang" in page.url
        assert "Vue publique" in barre.inner_text()  # compte de thau : rien dans etang
        aller_a(page, "Vue d'ensemble")
        chiffre_etang, carte_etang = _chiffre_et_carte(page)
        assert chiffre_etang != chiffre_thau and carte_etang and carte_etang != carte_thau
        _capturer(page, "etang_vue_ensemble_1440")

        aller_a(page, "Connexion")
        page.get_by_label("Adresse électronique").fill(FINANCEUR.email)
        page.get_by_label("Mot de passe").fill(MOT_DE_PASSE)
        page.get_by_role("button", name="Se connecter").click()
        barre.get_by_text("Connecté : Claude Financeur").wait_for(timeout=60_000)

        aller_a(page, "Territoires")
        texte = principal.inner_text()
        assert "Montants réservés" not in texte and texte.count("Montant des aides") == 2
        assert not chercher_interdits(lire_texte_visible(page))  # ni anglais, ni None, ni année « 2 018 »
        assert page.locator("[data-testid='stDataFrame']").count() == 3  # tableau + aides par financeur × 2
        _capturer(page, "financeur_deux_territoires_1440")
        page.set_viewport_size({"width": LARGEUR_TELEPHONE, "height": 1000})
        attendre_calme(page)
        _capturer(page, "financeur_deux_territoires_390")
        page.set_viewport_size({"width": 1440, "height": 1000})

        # Nouvelle session (rechargement) : territoire lu dans l'adresse, sessions relues dans le cookie de chacun.
        page.goto(url + "/territoires?territoire=thau", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Territoires").first.wait_for(timeout=90_000)
        attendre_calme(page)
        assert "Connecté : Claude Financeur" in barre.inner_text() and "Bassin de Thau" in barre.inner_text()
        assert "Montants réservés" not in principal.inner_text()
        principal.get_by_role("link", name="Vue d'ensemble").nth(1).click()  # lien du second territoire
        page.wait_for_timeout(300)
        attendre_calme(page)
        assert "territoire=etang" in page.url and "Connecté : Claude Financeur" in barre.inner_text()
        assert "Étang de test — registre" in principal.inner_text()  # financeur : non validées comprises
        aller_a(page, "Carte")
        carte = _lire_carte(page)
        # fenêtres des opérations : « Voir la fiche » ouvre la page entière (nouvelle session), le lien porte donc
        # le territoire ; sinon la fiche n° N du territoire par défaut s'ouvrirait
        assert carte and carte.count("fiche?id=") == carte.count("territoire=etang")  # « &amp; » dans le HTML
        assert page.locator("[data-testid='stException']").count() == 0
        assert not erreurs, erreurs
    except Exception:
        _capturer(page, "echec")
        raise
    finally:
        contexte.close()
