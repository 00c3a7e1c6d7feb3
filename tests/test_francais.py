"""Français jusqu'au dernier pixel : limite de téléversement, horodatages, figures, échelles, légendes,
noms des communes dans les exports, libellés de l'historique, motifs du test navigateur."""

import io
import sqlite3
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import plotly.graph_objects as go
import pytest
from shapely.geometry import box

RACINE = Path(__file__).resolve().parents[1]


def test_limite_de_televersement_egale_a_celle_de_l_import():
    from donnees.import_operations import TAILLE_MAX_FICHIER
    from donnees.photos import TAILLE_MAX_OCTETS

    reglages = tomllib.loads((RACINE / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    limite_mo = reglages["server"]["maxUploadSize"]
    assert limite_mo * 2**20 == TAILLE_MAX_FICHIER
    assert TAILLE_MAX_OCTETS <= limite_mo * 2**20  # une photo acceptée par l'application passe le serveur


def test_feuille_de_style_du_televerseur_en_francais():
    from pages import commun

    feuille = commun._feuille_de_style()
    assert "Glissez-déposez un fichier ici · 50\u202fMo au plus par fichier" in feuille
    assert "10\u202fMo au plus par photo" in feuille
    assert 'content: "Parcourir"' in feuille
    assert '[data-title="Download plot as a PNG"]::after { content: "Télécharger l\'image (PNG)"; }' in feuille


@pytest.mark.parametrize("valeur, attendu", [
    (None, "jamais"), (pd.NaT, "jamais"), (float("nan"), "jamais"),
    (pd.Timestamp("2026-07-01 10:00"), "01/07/2026 12:00"),  # UTC sans fuseau → heure d'été de Paris
    ("2026-01-15T23:30:00", "16/01/2026 00:30"),  # heure d'hiver, changement de jour
    (pd.Timestamp("2026-01-15 08:00", tz="UTC"), "15/01/2026 09:00"),
])
def test_horodatage_en_heure_de_paris(valeur, attendu):
    from donnees.format import formater_horodatage

    assert formater_horodatage(valeur) == attendu


def test_date_et_vide():
    from donnees.format import formater_date

    assert formater_date(pd.Timestamp("2024-09-15")) == "15/09/2024"
    assert formater_date(None) == "—"


def test_habillage_des_figures_annees_sans_separateur():
    from vues.figures import SEPARATEURS_FR, configurer_export, habiller_figure

    figure = habiller_figure(go.Figure(go.Bar(x=[2018, 2019, 2027], y=[1200.5, 3400, 10])))
    assert figure.layout.separators == SEPARATEURS_FR
    assert figure.layout.xaxis.tickformat == "d" and figure.layout.xaxis.hoverformat == "d"
    assert "%{y:,.~r}" in figure.data[0].hovertemplate
    # Années en texte (catégories) : même règle ; barres horizontales : l'axe des années est y.
    horizontale = habiller_figure(go.Figure(go.Bar(y=["2020", "2021"], x=[2000, 2050], orientation="h")))
    assert horizontale.layout.yaxis.tickformat == "d" and horizontale.layout.xaxis.tickformat is None
    # Des surfaces qui tombent entre 1900 et 2100 ne sont pas prises pour des années (axe des valeurs).
    communes = habiller_figure(go.Figure(go.Bar(x=["Sète", "Mèze"], y=[1950, 2000])))
    assert communes.layout.xaxis.tickformat is None and communes.layout.yaxis.tickformat is None
    # Une infobulle déjà écrite est gardée.
    gardee = habiller_figure(go.Figure(go.Scatter(x=[2020], y=[1], hovertemplate="%{y} m²")))
    assert gardee.data[0].hovertemplate == "%{y} m²"
    config = configurer_export("essai")
    assert "locale" not in config and config["displaylogo"] is False
    assert config["modeBarButtons"] == [["toImage", "zoom2d", "pan2d", "zoomIn2d", "zoomOut2d", "autoScale2d",
                                         "resetScale2d"]]


def _carte_html() -> str:
    from vues.cartes import Choroplethe, construire_carte_bassin

    communes = gpd.GeoDataFrame({"code_insee": ["34301", "34157"], "nom": ["Sète", "Mèze"]},
                                geometry=[box(3.6, 43.38, 3.7, 43.42), box(3.55, 43.42, 3.62, 43.46)], crs=4326)
    operations = gpd.GeoDataFrame(
        {"id": [1], "nom": ["Cour"], "code_insee": ["34301"], "type_site": ["cour_ecole"], "statut": ["realisee"],
         "localisation_approximative": [False]}, geometry=[box(3.65, 43.4, 3.651, 43.401)], crs=4326)
    choroplethe = Choroplethe(pd.Series({"34301": 100.0, "34157": 2000.0}), "Surface (m²)", "m²")
    return construire_carte_bassin(communes, operations, choroplethe=choroplethe).get_root().render()


def test_echelle_metrique_seule_et_legendes_repliables():
    from vues.cartes import LARGEUR_TELEPHONE_PX

    page = _carte_html()
    assert "imperial: false" in page and "metric: true" in page
    assert "imperial: true" not in page and '"imperial": true' not in page
    assert page.count("L.control.scale(") == 1
    # Deux légendes (types de site, classes), repliables, un quart de la carte au plus.
    assert page.count('class="desimper-legende"') == 2
    assert "max-width: 45%; max-height: 45%; overflow: auto" in page
    assert f"@media (max-width: {LARGEUR_TELEPHONE_PX - 1}px)" in page
    assert "classList.toggle" in page


def test_exports_nomment_les_communes_a_cote_du_code(dossier_demo, tmp_path, monkeypatch):
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_couche
    from indicateurs.calcul import calculer_indicateurs_operations
    from services.exports import COLONNES_EXPORT, exporter_operations, exporter_registre, lire_noms_communes

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    communes = lire_couche("communes", dossier_demo)
    attendus = dict(zip(communes["code_insee"], communes["nom"]))
    noms = lire_noms_communes(dossier_demo)
    assert noms == attendus  # la couche des communes du territoire, pas une table codée en dur
    assert COLONNES_EXPORT.index("commune") == COLONNES_EXPORT.index("code_insee") + 1
    magasin = Magasin(url_base(dossier_demo))
    operations, zones, financements = magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()
    magasin.fermer()
    par_operation = calculer_indicateurs_operations(operations, zones, financements)

    def verifier(table: pd.DataFrame, code: str, commune: str) -> None:
        colonnes = list(table.columns)
        assert colonnes.index(commune) == colonnes.index(code) + 1
        assert (table[code].astype(str).map(attendus) == table[commune]).all()

    csv = pd.read_csv(io.BytesIO(exporter_operations(par_operation, operations, "csv", noms)), sep=";",
                      encoding="utf-8-sig", dtype={"Code INSEE": str})
    verifier(csv, "Code INSEE", "Commune")
    xlsx = pd.read_excel(io.BytesIO(exporter_operations(par_operation, operations, "xlsx", noms)),
                         dtype={"Code INSEE": str})
    verifier(xlsx, "Code INSEE", "Commune")
    chemin = tmp_path / "operations.gpkg"
    chemin.write_bytes(exporter_operations(par_operation, operations, "gpkg", noms))
    verifier(gpd.read_file(chemin), "code_insee", "commune")
    # La ligne de commande lit les noms dans le territoire.
    registre = pd.read_csv(io.BytesIO(exporter_registre("csv", dossier_demo)), sep=";", encoding="utf-8-sig",
                           dtype={"Code INSEE": str})
    verifier(registre, "Code INSEE", "Commune")


def test_historique_en_francais():
    from donnees.modele_operation import libelle, resumer_changements

    assert libelle("derniere_connexion") == "dernière connexion"
    resume = resumer_changements('{"email": [null, "a@b.fr"], "role": ["lecteur", "referent"], "cout_ht_eur": [1, 2]}')
    assert resume == "Adresse électronique, Coût HT (€), Rôle"


def test_motifs_du_parcours_navigateur():
    import sys

    sys.path.insert(0, str(RACINE / "tests" / "navigateur"))
    from parcours import chercher_interdits

    for texte in ("Année 2 018", "2\u202f019", "Dernière connexion None", "NaN", "Upload", "Limit 200MB per file",
                  "3 mi", "500 ft"):
        assert chercher_interdits(texte), texte
    for texte in ("2 018 m²", "2\u202f019\u202f€", "12 345,6", "2018", "10 km", "500 m", "Mise à jour",
                  "1 250 m² en 2018", "Nominal", "12 2019", "1 2 018,5", "2 018 450 m²",
                  "2 150 opérations"):
        assert not chercher_interdits(texte), texte


def test_journal_du_demo_lisible(dossier_demo):
    """Chaque champ du journal de la démonstration a un libellé français (pas de nom de colonne brut)."""
    import json

    from donnees.modele_operation import libelle

    with sqlite3.connect(dossier_demo / "desimper.sqlite") as base:
        cles = {cle for (diff,) in base.execute("SELECT diff FROM journal") if diff
                for cle in (json.loads(diff) if isinstance(json.loads(diff), dict) else {})}
    bruts = {cle for cle in cles if "_" in libelle(cle)}
    assert not bruts


def test_axes_d_annees_reconnus():
    import sys

    sys.path.insert(0, str(RACINE / "tests" / "navigateur"))
    from parcours import _est_axe_des_annees

    assert _est_axe_des_annees(["2019", "2020", "2021"])
    assert _est_axe_des_annees(["2 018", "2 020", "2 022"])
    assert not _est_axe_des_annees(["0", "2 000", "4 000"])
    assert not _est_axe_des_annees(["Sète", "Mèze"])


def test_colonnes_des_tableaux_annees_et_colonne_cle():
    from pages import commun

    table = pd.DataFrame({"Opération": [1, 2], "Code INSEE": ["34301", "34157"], "Nom": ["Cour", None],
                          "Année": [2018, 2019], "Surface (m²)": [1234.5, float("nan")],
                          "Surface désimperméabilisée (m²)": [10.0, 20.0]})
    configuration = commun.configurer_colonnes(table)
    assert configuration["Année"]["type_config"]["format"] == "%d"
    assert configuration["Surface (m²)"]["type_config"]["format"] == "localized"
    assert configuration["Nom"]["pinned"] is True
    assert configuration["Surface désimperméabilisée (m²)"]["pinned"] is True  # le chiffre clé reste en vue
    assert [nom for nom, c in configuration.items() if c.get("pinned")] == ["Nom", "Surface désimperméabilisée (m²)"] \
        or {nom for nom, c in configuration.items() if c.get("pinned")} == {"Nom", "Surface désimperméabilisée (m²)"}
    assert commun.nettoyer_vides(table)["Nom"].tolist() == ["Cour", "—"]
