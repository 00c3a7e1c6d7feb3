"""Validation par les bibliothèques : schémas pandera des CSV de paramètres et du catalogue, modèles pydantic
des fichiers JSON, messages français (fichier, ligne ou champ, valeur, correction)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from donnees import nomenclatures as nom
from donnees.erreurs import ErreurDonnees
from donnees.validation import lire_csv_valide, valider_table
from indicateurs import catalogue as cat
from indicateurs import parametres as par
from indicateurs.eau_grille import FICHIER_PERCOLATION, SCHEMA_PERCOLATION
from indicateurs.priorites import FICHIER_PRIORITES

# ------------------------------------------------------------------------------------------------ pandera


def lire_catalogue_brut() -> pd.DataFrame:
    return pd.read_csv(cat.FICHIER_CATALOGUE, dtype=str, keep_default_na=False)


def schema_catalogue():
    return cat.construire_schema_catalogue(cat.lister_parametres_connus())


@pytest.mark.parametrize("nom_fichier", list(nom.SCHEMAS_NOMENCLATURES))
def test_nomenclatures_conformes(nom_fichier):
    assert len(nom.lire_nomenclature(nom_fichier)) > 0


def test_parametres_et_catalogue_conformes():
    assert len(par.lire_table_parametres()) > 0 and len(par.lire_table_parametres(FICHIER_PRIORITES)) > 0
    assert len(lire_csv_valide(FICHIER_PERCOLATION, SCHEMA_PERCOLATION, dtype={"code": str})) > 0
    assert len(valider_table(lire_catalogue_brut(), schema_catalogue(), "catalogue.csv")) == len(cat.lire_catalogue())


def test_colonnes_geometrique_et_public():
    geometriques = set(cat.codes_geometriques())
    assert {"surface_desimpermeabilisee", "volume_infiltre", "surface_zones", "cout_par_m2"} <= geometriques
    assert not geometriques & {"nombre_operations", "cout_total_ht", "taux_aide", "volume_retenu_grille"}
    publics = set(cat.codes_publics())
    assert {"surface_desimpermeabilisee", "volume_infiltre", "taux_atteinte_objectif"} <= publics
    assert not publics & {"cout_total_ht", "taux_aide", "montant_aides", "cout_par_m2", "reste_a_charge"}
    assert publics | set(cat.codes_famille("finances")) == set(cat.lire_catalogue().index)


def test_listes_en_dur_conformes_au_catalogue():
    """Les listes encore écrites à la main (à remplacer par codes_geometriques()) n'ont pas dérivé."""
    from indicateurs.calcul import COLONNES_GEOMETRIQUES
    from vues import fiches

    assert set(COLONNES_GEOMETRIQUES) == set(cat.codes_geometriques())
    assert set(fiches.CHIFFRES_FICHE) & set(cat.codes_geometriques()) == {"surface_desimpermeabilisee",
                                                                          "volume_infiltre"}


@pytest.mark.parametrize("colonne, valeur, motif", [
    ("famille", "climat", r"catalogue\.csv, ligne 3 \(surface_zones\) : colonne « famille » = « climat » : "
                          r"famille inconnue \(surfaces, eau"),
    ("niveaux", "commune;quartier", r"ligne 3 \(surface_zones\) : colonne « niveaux ».*niveaux inconnus"),
    ("parametres", "pluie_inventee", r"ligne 3 \(surface_zones\) : colonne « parametres ».*paramètre\(s\) inconnu"),
    ("decimales", "deux", r"ligne 3 \(surface_zones\).*décimales invalide"),
    ("source", "  ", r"ligne 3 \(surface_zones\) : colonne « source » = .*vide"),
    ("geometrique", "peut-être", r"ligne 3 \(surface_zones\) : colonne « geometrique ».*« oui » ou « non »"),
    ("code", "surface_desimpermeabilisee", r"ligne [34] : colonne « code » = « surface_desimpermeabilisee » : "
                                           r"valeur en double"),
])
def test_catalogue_fautif_cite_fichier_ligne_colonne(colonne, valeur, motif):
    table = lire_catalogue_brut()
    table.loc[1, colonne] = valeur
    with pytest.raises(ErreurDonnees, match=motif) as erreur:
        valider_table(table, schema_catalogue(), "catalogue.csv", couche="catalogue",
                      correction="Corrigez indicateurs/catalogue.csv.")
    assert str(erreur.value).endswith("Corrigez indicateurs/catalogue.csv.")
    assert erreur.value.colonne == colonne and erreur.value.couche == "catalogue"


def test_catalogue_colonne_manquante():
    with pytest.raises(ErreurDonnees, match=r"catalogue\.csv : colonne « public » manquante"):
        valider_table(lire_catalogue_brut().drop(columns="public"), schema_catalogue(), "catalogue.csv")


def ecrire_modele(tmp_path, modifier) -> pd.DataFrame:
    table = pd.read_csv(par.FICHIER_MODELE, dtype={"code": str})
    modifier(table)
    chemin = tmp_path / "modele.csv"
    table.to_csv(chemin, index=False)
    return chemin


@pytest.mark.parametrize("modifier, motif", [
    (lambda t: t.__setitem__("valeur", t["valeur"].astype(object).where(t.index != 2, "beaucoup")),
     r"modele\.csv, ligne 4 \(et0_mm_jour\) : colonne « valeur » = « beaucoup » : valeur non numérique"),
    (lambda t: t.__setitem__("valeur", t["valeur"].where(t.index != 0, 99_999)),
     r"modele\.csv, ligne 2 \(pluie_annuelle_mm\) : « valeur » hors des bornes \[« minimum » ; « maximum »\] "
     r"\(valeur = 99999.0, minimum = 100.0, maximum = 3000\)"),
    (lambda t: t.__setitem__("source", t["source"].where(t.index != 1, None)),
     r"modele\.csv, ligne 3 \(pluie_reference_mm\) : colonne « source » = .*valeur manquante"),
    (lambda t: t.__setitem__("code", t["code"].where(t.index != 1, "pluie_annuelle_mm")),
     r"modele\.csv, ligne [23] : colonne « code » = « pluie_annuelle_mm » : valeur en double"),
])
def test_parametres_fautifs(tmp_path, modifier, motif):
    chemin = ecrire_modele(tmp_path, modifier)
    with pytest.raises(ErreurDonnees, match=motif) as erreur:
        par.lire_table_parametres(chemin)
    assert "Corrigez modele.csv" in str(erreur.value)


def test_revetements_hors_bornes(monkeypatch, tmp_path):
    table = pd.read_csv(nom.DOSSIER_NOMENCLATURES / "revetements.csv", dtype={"code": str})
    table.loc[table["code"] == "pelouse", "albedo"] = 1.7
    table.to_csv(tmp_path / "revetements.csv", index=False)
    monkeypatch.setattr(nom, "DOSSIER_NOMENCLATURES", tmp_path)
    nom.lire_revetements.cache_clear()
    try:
        with pytest.raises(ErreurDonnees, match=r"revetements\.csv, ligne \d+ \(pelouse\) : colonne « albedo » = "
                                                r"« 1\.7 » : nombre attendu dans \[0 ; 1\]"):
            nom.lire_revetements()
    finally:
        nom.lire_revetements.cache_clear()


# ----------------------------------------------------------------------------------------------- pydantic


def test_json_existants_lus_sans_changement(dossier_demo_copie):
    import json

    from donnees.comptes import CHEMIN_PARAMETRES, lire_parametres_comptes
    from donnees.referentiel import lire_territoire
    from donnees.sources import lire_sources

    assert lire_territoire(dossier_demo_copie) == json.loads((dossier_demo_copie / "territoire.json").read_text())
    assert lire_sources(dossier_demo_copie) == json.loads((dossier_demo_copie / "sources.json").read_text())
    assert lire_parametres_comptes() == json.loads(CHEMIN_PARAMETRES.read_text())


@pytest.mark.parametrize("contenu, motifs", [
    ({"nom": "Thau"}, ["champ « codes_insee » : champ obligatoire manquant"]),
    ({"nom": "", "codes_insee": "34301", "demo": "peut-être"},
     ["champ « nom » : texte vide", "champ « codes_insee » : liste attendue (reçu : '34301')",
      "champ « demo » : vrai ou faux"]),
    ({"nom": "Thau", "codes_insee": ["34301", 34157]}, ["champ « codes_insee[1] » : texte attendu (reçu : 34157)"]),
])
def test_territoire_fautif_nomme_fichier_champ_correction(tmp_path, contenu, motifs):
    import json

    from donnees.referentiel import lire_territoire

    (tmp_path / "territoire.json").write_text(json.dumps(contenu), encoding="utf-8")
    with pytest.raises(ErreurDonnees) as erreur:
        lire_territoire(tmp_path)
    message = str(erreur.value)
    assert message.startswith(f"Fichier du territoire ({tmp_path / 'territoire.json'}) : ")
    assert all(m in message for m in motifs), message
    assert message.endswith("Relancez `desimper demo`, ou corrigez le fichier.")
    assert erreur.value.couche == "territoire"


def test_territoire_invalide_jamais_ecrit(tmp_path):
    from donnees.referentiel import ecrire_territoire

    with pytest.raises(ErreurDonnees, match="codes_insee"):
        ecrire_territoire({"nom": "Thau"}, tmp_path)
    assert not (tmp_path / "territoire.json").exists()


def test_sources_fautives(tmp_path):
    import json

    from donnees.sources import construire_fiche, enregistrer_sources, lire_sources

    fiche = construire_fiche("communes", source="IGN", producteur="IGN", attribution="IGN", origine="fichier",
                             nombre=2, par_commune={"34301": 2})
    enregistrer_sources({"communes": fiche}, tmp_path)
    assert lire_sources(tmp_path)["communes"] == fiche
    (tmp_path / "sources.json").write_text(json.dumps({"communes": {**fiche, "origine": "web", "nombre": -1}}))
    with pytest.raises(ErreurDonnees, match=r"des sources \(.*\) : champ « communes\.origine » : valeur attendue "
                                            r"parmi 'telechargement', 'fichier' ou 'demonstration'.*"
                                            r"« communes\.nombre » : doit être supérieur ou égal à 0.*"
                                            r"réimportez les couches"):
        lire_sources(tmp_path)
    with pytest.raises(ErreurDonnees, match="communes_affichage.source"):
        enregistrer_sources({"communes_affichage": {**fiche, "source": None}}, tmp_path, remplacer_tout=True)


@pytest.mark.parametrize("cle, valeur, motif", [
    ("echecs_avant_blocage", 0, "« echecs_avant_blocage » : doit être supérieur ou égal à 1 (reçu : 0)"),
    ("duree_blocage_minutes", True, "« duree_blocage_minutes » : nombre entier attendu (reçu : True)"),
    ("longueur_min_mot_de_passe", "12", "« longueur_min_mot_de_passe » : nombre entier attendu (reçu : '12')"),
    ("duree_inactivite_session_minutes", None, "« duree_inactivite_session_minutes » : nombre entier attendu"),
])
def test_parametres_comptes_fautifs(monkeypatch, tmp_path, cle, valeur, motif):
    import json

    from donnees import comptes

    reglages = json.loads(comptes.CHEMIN_PARAMETRES.read_text(encoding="utf-8"))
    reglages[cle] = valeur
    (tmp_path / "parametres_comptes.json").write_text(json.dumps(reglages), encoding="utf-8")
    monkeypatch.setattr(comptes, "CHEMIN_PARAMETRES", tmp_path / "parametres_comptes.json")
    comptes.lire_parametres_comptes.cache_clear()
    try:
        with pytest.raises(ErreurDonnees, match=re.escape(f"Fichier parametres_comptes.json : champ {motif}")) \
                as erreur:
            comptes.lire_parametres_comptes()
        assert erreur.value.colonne == cle
    finally:
        comptes.lire_parametres_comptes.cache_clear()


def test_traducteur_pydantic_garde_le_message_d_un_validateur():
    from pydantic import BaseModel, field_validator

    from donnees.validation import valider_json

    class Surface(BaseModel):
        surface_m2: float

        @field_validator("surface_m2")
        @classmethod
        def positive(cls, valeur):
            if valeur <= 0:
                raise ValueError("la surface doit être positive (en m²)")
            return valeur

    with pytest.raises(ErreurDonnees, match=r"Fichier op\.json : champ « surface_m2 » : la surface doit être "
                                            r"positive \(en m²\) \(reçu : -3\)\. Corrigez-la\."):
        valider_json(Surface, {"surface_m2": -3}, "op.json", correction="Corrigez-la.")
