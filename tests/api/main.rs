mod hashcorpus;
