"""Playwright + Chromium : toutes les pages, pour chaque rôle (public, référent, financeur, administrateur), à
1440 px, sans texte anglais ni valeur brute visible (téléverseur, échelles des cartes, « None », « NaN »,
années « 2 018 ») ; sélecteur de couches et légendes de la Carte à 390 px ; deux exports à la suite donnent
deux fichiers. Un seul serveur pour tout le module, une page de navigateur par rôle."""

import re
import shutil
from pathlib import Path

import pytest

from parcours import (
    LARGEUR_TELEPHONE,
    ROLES,
    aller_a,
    attendre_calme,
    chercher_interdits,
    creer_comptes,
    lire_texte_visible,
    nom_fichier,
    ouvrir_session,
    parcourir,
)

SORTIES = Path(__file__).resolve().parents[1] / "sorties"


def compter_pages_visibles(role) -> int:
    """Pages que le parcours doit visiter : la navigation de ce rôle (décidée par les droits,
    ``pages.commun.lister_pages``), sans « Connexion » pour un compte connecté (le parcours la saute)."""
    from donnees.comptes import VISITEUR, Utilisateur
    from pages.commun import lister_pages

    utilisateur = VISITEUR if role.role is None else Utilisateur(role.email, role.nom_affiche, role.role,
                                                                  frozenset(role.communes))
    return sum(page["visible"] and (page["titre"] != "Connexion" or role.email is None)
               for page in lister_pages(utilisateur, 0))

pytestmark = pytest.mark.navigateur


@pytest.fixture(scope="module")
def serveur_parcours(dossier_demo, demarrer_serveur, tmp_path_factory):
    """Application lancée sur une copie de la démonstration où existent les comptes des quatre rôles."""
    copie = tmp_path_factory.mktemp("parcours") / "demo"
    shutil.copytree(dossier_demo, copie)
    creer_comptes(copie)
    return demarrer_serveur(copie)


@pytest.mark.parametrize("role", ROLES, ids=[role.nom for role in ROLES])
def test_aucun_texte_interdit_sur_aucune_page(navigateur, serveur_parcours, role):
    constats, erreurs = {}, []

    def visiter(page, libelle):
        if page.locator("[data-testid='stException']").count():
            erreurs.append(libelle)
        trouves = chercher_interdits(lire_texte_visible(page))
        if trouves:
            constats[libelle] = trouves
            SORTIES.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SORTIES / f"interdit-{nom_fichier(role, libelle, 1440)}"), full_page=True)

    pages = parcourir(navigateur, serveur_parcours, role, visiter)
    assert len(pages) >= compter_pages_visibles(role), pages
    assert not erreurs, f"exception Python affichée sur : {erreurs}"
    assert not constats, "\n".join(f"{page} : {textes}" for page, textes in constats.items())


def test_televerseur_en_francais_avec_la_limite_du_serveur(navigateur, serveur_parcours):
    contexte, page = ouvrir_session(navigateur, serveur_parcours, ROLES[1])
    try:
        aller_a(page, "Importer")
        zone = page.locator("[data-testid='stFileUploaderDropzone']").first
        zone.wait_for(timeout=60_000)
        consignes = zone.locator("[data-testid='stFileUploaderDropzoneInstructions']")
        affiche = consignes.evaluate("e => getComputedStyle(e, '::before').content")
        assert "Glissez-déposez un fichier ici" in affiche and "50\u202fMo au plus par fichier" in affiche
        bouton = zone.locator("button").first
        assert "Parcourir" in bouton.evaluate("e => getComputedStyle(e, '::after').content")
        assert zone.inner_text().strip() == "upload"  # nom de l'icône seul : aucun texte anglais visible
        assert not chercher_interdits(zone.inner_text())
    finally:
        contexte.close()


def _dans_la_fenetre(boite, largeur: int) -> bool:
    return boite is not None and boite["x"] >= 0 and boite["x"] + boite["width"] <= largeur + 0.5


def test_carte_sur_telephone_couches_visibles_et_legendes_repliees(navigateur, serveur_parcours):
    contexte, page = ouvrir_session(navigateur, serveur_parcours, ROLES[0], largeur=LARGEUR_TELEPHONE)
    try:
        aller_a(page, "Carte")
        for couche in ("Communes", "Chaleur", "Imperméabilisation", "Parcelles d'une commune"):
            pastille = page.locator("[data-testid='stMain'] button").filter(
                has_text=re.compile(rf"^\s*{re.escape(couche)}\s*$")).first
            assert _dans_la_fenetre(pastille.bounding_box(), LARGEUR_TELEPHONE), couche
        cadre = page.frame_locator("iframe[title*='streamlit_folium']").first
        echelle = cadre.locator(".leaflet-control-scale").first
        assert re.fullmatch(r"\d+ k?m", echelle.inner_text().strip()), echelle.inner_text()
        assert cadre.locator(".leaflet-control-scale-line").count() == 1  # pas de seconde ligne en miles
        carte = page.locator("iframe[title*='streamlit_folium']").first.bounding_box()
        legendes = cadre.locator(".desimper-legende")
        assert legendes.count() >= 2
        for rang in range(legendes.count()):
            boite = legendes.nth(rang).bounding_box()
            assert boite["width"] * boite["height"] <= 0.25 * carte["width"] * carte["height"]
            assert not legendes.nth(rang).locator(".desimper-legende-entrees").is_visible()  # repliée
        legendes.first.locator(".desimper-legende-titre").click()
        assert legendes.first.locator(".desimper-legende-entrees").is_visible()  # un clic la déplie
    finally:
        contexte.close()


def test_deux_exports_a_la_suite_donnent_deux_fichiers(navigateur, serveur_parcours):
    contexte, page = ouvrir_session(navigateur, serveur_parcours, ROLES[2])
    try:
        aller_a(page, "Indicateurs")
        fichiers = []
        for nom in ("CSV (Excel)", "XLSX"):
            with page.expect_download(timeout=60_000) as attente:
                page.get_by_role("button", name=nom).click()
            fichiers.append(attente.value)
        attendre_calme(page)
        assert [f.suggested_filename for f in fichiers] == ["operations.csv", "operations.xlsx"]
        entetes = Path(fichiers[0].path()).read_bytes().decode("utf-8-sig").splitlines()[0].split(";")
        assert entetes.index("Commune") == entetes.index("Code INSEE") + 1
        assert Path(fichiers[1].path()).read_bytes()[:2] == b"PK"
    finally:
        contexte.close()
