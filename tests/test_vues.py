"""Cartes : communes et opérations envoyées légères, textes échappés, ressources locales."""

import json

import folium
import geopandas as gpd
from shapely.geometry import box

from vues import actifs
from vues.cartes import VueCarte, construire_carte_bassin
from vues.format import formater_nombre


def communes_test() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code_insee": ["34301", "34157"], "nom": ["Sète", "Mèze"]},
                            geometry=[box(3.6, 43.3, 3.7, 43.4), box(3.5, 43.4, 3.6, 43.5)], crs=4326)


def operations_test() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [1, 2], "nom": ["<img src=x onerror=alert(1)>", "Parking de la gare"], "code_insee": ["34301", "34301"],
         "type_site": ["cour_ecole", "parking"], "statut": ["realisee", "programmee"]},
        geometry=[box(3.61, 43.31, 3.6102, 43.3102), box(3.62, 43.32, 3.6203, 43.3203)], crs=4326)


# Vue rapprochée (zoom des opérations une à une) : les opérations partent avec leur nom ; sans vue, des cercles
# par commune (tests/test_cartes_bornees.py).
VUE_PROCHE = VueCarte(16, (3.6, 43.3, 3.63, 43.33))


def test_carte_bassin_communes_operations_legende():
    carte = construire_carte_bassin(communes_test(), operations_test(), vue=VUE_PROCHE)
    html = carte.get_root().render()
    assert html.count("desimper-commune") >= 1
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html.replace("\\u0026", "&")
    assert "Cour d&#x27;école" in html or "Cour d'école" in html
    assert "desimper-legende" in html


def test_carte_sans_operation():
    vide = operations_test().iloc[0:0]
    html = construire_carte_bassin(communes_test(), vide).get_root().render()
    assert "desimper-operation" not in html and "desimper-legende" not in html


def test_geometries_arrondies_et_proprietes_minimales():
    carte = construire_carte_bassin(communes_test(), operations_test())
    couches = [e for e in carte._children.values() if isinstance(e, folium.GeoJson)]
    communes = couches[0].data
    assert set(communes["features"][0]["properties"]) == {"code_insee", "nom", "operations"}
    texte = json.dumps(communes)
    assert all(len(n.split(".")[-1]) <= 5 for n in texte.replace("]", ",").split(",") if "." in n
               and n.strip(" [").replace(".", "").replace("-", "").isdigit())


def test_actifs_locaux_reorientes(tmp_path):
    correspondance = {"leaflet": "node_modules/leaflet/dist/leaflet.js", "glyphicons_css": None}
    (tmp_path / "node_modules/leaflet/dist").mkdir(parents=True)
    (tmp_path / "node_modules/leaflet/dist/leaflet.js").write_text("//")
    ressources = [("leaflet", "https://cdn/leaflet.js"), ("glyphicons_css", "https://cdn/g.css"),
                  ("inconnue", "https://cdn/x.js")]
    assert actifs._reorienter(ressources, correspondance, tmp_path) == [
        ("leaflet", "/app/static/node_modules/leaflet/dist/leaflet.js"), ("inconnue", "https://cdn/x.js")]


def test_aucune_ressource_distante_quand_npm_installe():
    if not actifs.utiliser_actifs_locaux():
        from outils import manquer

        manquer("static/node_modules absent : `make` installe les actifs avec npm")
    carte = construire_carte_bassin(communes_test(), operations_test())
    assert actifs.lister_ressources_distantes(carte) == []


def test_formater_nombre_a_la_francaise():
    assert formater_nombre(12345) == "12\u202f345"
    assert formater_nombre(3.44, 1, "°C") == "3,4\u202f°C"
    assert formater_nombre(None) == "—"
    assert formater_nombre(-0.01, 1) == "0,0"


def test_choroplethe_classes_couleurs_et_legende():
    import pandas as pd

    from vues.cartes import Choroplethe, calculer_classes, colorer_valeurs

    valeurs = pd.Series([0.0, 10.0, 20.0, float("nan")], index=["a", "b", "c", "d"])
    bornes = calculer_classes(valeurs, 2)
    assert bornes == [0.0, 10.0, 20.0]
    couleurs = colorer_valeurs(valeurs, bornes, ["#111111", "#222222", "#333333"], "#ddd")
    assert list(couleurs) == ["#111111", "#333333", "#333333", "#ddd"]
    choro = Choroplethe(pd.Series({"34301": 1234.5, "34157": float("nan")}), "Surface <b>", "m²")
    html = construire_carte_bassin(communes_test(), operations_test(), choroplethe=choro).get_root().render()
    assert "Surface &lt;b&gt;" in html and "Sans donnée" in html
    assert "1\\u202f234" in html  # valeur formatée à la française dans l'info-bulle


def test_fiches_signalent_la_localisation_approximative():
    import pandas as pd

    from vues.fiches import construire_fiche_html, construire_fiche_imprimable

    base = {"nom": "Cour <b>A</b>", "type_site": "cour_ecole", "statut": "realisee", "annee": 2024,
            "description": "Texte"}
    for valeur, attendu in ((True, True), (False, False), (None, False), (float("nan"), False)):
        operation = pd.Series({**base, "localisation_approximative": valeur})
        popup = construire_fiche_html(operation, None, None, None)
        imprimable = construire_fiche_imprimable(operation, "Sète", None, [])
        assert ("Localisation approximative" in popup) is attendu
        assert ("Localisation approximative" in imprimable) is attendu
        assert "<b>A</b>" not in popup and "<b>A</b>" not in imprimable
    assert "Localisation approximative" not in construire_fiche_html(pd.Series(base), None, None, None)


def test_operation_approximative_sans_surface_affichee():
    import pandas as pd

    from vues.fiches import construire_fiche_html, construire_fiche_imprimable

    operation = pd.Series({"nom": "Cour oasis", "type_site": "cour_ecole", "statut": "realisee", "annee": 2024,
                           "localisation_approximative": True})
    indicateurs = pd.Series({"surface_desimpermeabilisee": 0.0, "volume_infiltre": 0.0, "cout_total_ht": 550000.0,
                             "taux_aide": float("nan")})
    fiche = construire_fiche_html(operation, indicateurs, None, None)
    assert "Localisation approximative" in fiche and "Désimperméabilisé" not in fiche and "Coût HT" in fiche
    imprimable = construire_fiche_imprimable(operation, "Sète", indicateurs, [])
    assert "Surface désimperméabilisée" not in imprimable and "sa surface n'est pas comptée" in imprimable


def test_fiches_jinja_echappent_tout_texte_utilisateur():
    """Gabarits Jinja2 (vues/gabarits/) à échappement automatique : balises et guillemets neutralisés,
    y compris dans les attributs (lien, légende des photos)."""
    import pandas as pd

    from vues.fiches import construire_fiche_html, construire_fiche_imprimable

    piege = "<script>alert(1)</script>"
    operation = pd.Series({"nom": piege, "type_site": "x<img src=x onerror=alert(1)>", "statut": "<b>s</b>",
                           "annee": 2024, "description": "a & b", "retour_experience": piege,
                           "contact": "\"><svg onload=alert(1)>", "localisation_approximative": False})
    popup = construire_fiche_html(operation, None, "data:image/png;base64,AA", "?id=1' onmouseover='alert(1)")
    page = construire_fiche_imprimable(operation, "Sète<i>", None,
                                       [("avant", "lég' onerror='alert(1)", "data:image/png;base64,AA")])
    for html in (popup, page):
        assert "<script" not in html and "<img src=x" not in html and "<svg" not in html and "<b>s" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "href='?id=1&#39; onmouseover=&#39;alert(1)'" in popup
    assert "&lt;b&gt;s&lt;/b&gt;" in popup and "Sète&lt;i&gt;" in page and "a &amp; b" in page
    assert "alt='avant'" in page and "lég&#39; onerror=&#39;alert(1)" in page
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in page


def test_gabarits_des_fiches_declares_dans_le_paquet():
    import tomllib

    from donnees.config import RACINE_PROJET
    from vues.fiches import DOSSIER_GABARITS

    gabarits = sorted(p.name for p in DOSSIER_GABARITS.glob("*.j2"))
    assert gabarits == ["fiche_carte.html.j2", "fiche_imprimable.html.j2", "rapport.html.j2",
                        "resume_notifications.html.j2", "resume_notifications.txt.j2"]
    projet = tomllib.loads((RACINE_PROJET / "pyproject.toml").read_text(encoding="utf-8"))
    assert "gabarits/*.j2" in projet["tool"]["setuptools"]["package-data"]["vues"]
