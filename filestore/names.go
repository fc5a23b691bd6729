package filestore

import (
	"math/rand/v2"
	"strconv"
)

// Word lists for random run names of the form adjective-animal-N, the
// shape MLflow gives unnamed runs. Names are random, so the lists need not
// match MLflow's; they are our own.
var (
	nameAdjectives = []string{
		"able", "agile", "amber", "ample", "angry", "bold", "brave", "bright", "brisk",
		"calm", "casual", "clean", "clever", "cool", "crisp", "curious", "dapper", "daring",
		"eager", "early", "easy", "fair", "fancy", "fast", "fearless", "fluffy", "fond",
		"gentle", "glad", "golden", "grand", "happy", "hardy", "honest", "humble", "jolly",
		"keen", "kind", "lively", "loyal", "lucky", "mellow", "merry", "mighty", "modest",
		"neat", "nimble", "noble", "patient", "placid", "polite", "proud", "quick", "quiet",
		"rare", "rapid", "ruddy", "salty", "sassy", "serene", "sharp", "shy", "silent",
		"sleek", "smooth", "snappy", "sneaky", "spry", "steady", "stately", "sunny", "swift",
		"tender", "thrifty", "tidy", "upbeat", "vast", "vivid", "warm", "wise", "witty", "zesty",
	}
	nameAnimals = []string{
		"ant", "ape", "asp", "bat", "bear", "bee", "bird", "boar", "bug", "calf", "carp",
		"cat", "colt", "cod", "crab", "crane", "crow", "cub", "deer", "doe", "dog", "dove",
		"duck", "eel", "elk", "emu", "finch", "fish", "fly", "foal", "fowl", "fox", "frog",
		"gnat", "gnu", "goat", "goose", "hare", "hawk", "hen", "hog", "horse", "hound",
		"jay", "kid", "kit", "koi", "lamb", "lark", "lynx", "mare", "mink", "mole", "moth",
		"mouse", "mule", "newt", "owl", "ox", "panda", "pig", "pony", "pug", "ram", "rat",
		"roo", "seal", "shad", "shark", "sheep", "slug", "snail", "snake", "squid", "stag",
		"swan", "toad", "trout", "wasp", "whale", "wolf", "worm", "wren", "yak",
	}
)

// maxRunNameLen is MLflow's limit for generated names.
const maxRunNameLen = 20

// randomRunName returns a random name such as "brave-owl-217": up to ten
// draws to find one of at most 20 characters, else the last one truncated,
// as MLflow does.
func randomRunName() string { return runName(rand.IntN) }

// RandomRunNameFrom is RandomRunName drawing from r, so that a seeded
// program (mlruns demo --seed) names its runs the same way every time.
func RandomRunNameFrom(r *rand.Rand) string { return runName(r.IntN) }

func runName(intN func(int) int) string {
	var name string
	for i := 0; i < 10; i++ {
		name = nameAdjectives[intN(len(nameAdjectives))] + "-" +
			nameAnimals[intN(len(nameAnimals))] + "-" + strconv.Itoa(intN(1001))
		if len(name) <= maxRunNameLen {
			return name
		}
	}
	return name[:maxRunNameLen]
}
